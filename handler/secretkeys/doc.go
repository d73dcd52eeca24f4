// Package secretkeys reads the SSH credentials for cloning from AWS Secrets
// Manager. Keys implements pipeline.KeySource.
//
// The secret's SecretString is a JSON object:
//
//	{
//	  "id_ed25519":     "-----BEGIN OPENSSH PRIVATE KEY-----\n...",
//	  "id_ed25519.pub": "ssh-ed25519 AAAA... backlog-webhook",
//	  "known_hosts":    "SPACE.git.backlog.com ssh-ed25519 AAAA...\n..."
//	}
//
// id_ed25519 and id_ed25519.pub are the fields of the original system's secret;
// known_hosts is new and required, because host keys are always verified.
// id_ed25519 must be an unencrypted private key (OpenSSH or PEM; despite the name,
// any type the ssh package parses); id_ed25519.pub is optional and unused. Other
// fields are rejected so a misspelt name is reported instead of ignored.
//
// The secret is fetched once per process (a warm Lambda container) and cached;
// concurrent callers share one fetch, and a failed fetch is not cached. Neither
// the value nor any part of it appears in errors or logs; the key's SHA-256
// fingerprint is logged instead.
package secretkeys
