package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestConfigRejected(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, c testConfig)
		keys   []string // every key the error must name
		plain  []string // keys stored in plain text instead of as secrets
	}{
		{name: "git server missing", change: func(_ *testing.T, c testConfig) { delete(c, "gitServer") },
			keys: []string{"gitServer"}},
		{name: "git server with a path", change: func(_ *testing.T, c testConfig) {
			c["gitServer"] = "ssh://demo@demo.git.backlog.com/DEMO/x.git"
		}, keys: []string{"gitServer"}},
		{name: "known_hosts missing", change: func(_ *testing.T, c testConfig) { delete(c, "knownHosts") },
			keys: []string{"knownHosts"}},
		{name: "known_hosts for another host", change: func(t *testing.T, c testConfig) {
			c["knownHosts"] = knownHostsLine(t, "other.git.backlog.com")
		}, keys: []string{"knownHosts"}},
		{name: "known_hosts garbage", change: func(_ *testing.T, c testConfig) {
			c["knownHosts"] = "REPLACE-with-the-verified-ssh-keyscan-line"
		}, keys: []string{"knownHosts"}},
		{name: "token missing", change: func(_ *testing.T, c testConfig) { delete(c, "webhookToken") },
			keys: []string{"webhookToken"}},
		{name: "token too short", change: func(_ *testing.T, c testConfig) { c["webhookToken"] = "short" },
			keys: []string{"webhookToken"}},
		{name: "token with a slash", change: func(_ *testing.T, c testConfig) {
			c["webhookToken"] = strings.Repeat("a", 40) + "/x"
		}, keys: []string{"webhookToken"}},
		{name: "token in plain text", plain: []string{"webhookToken"}, keys: []string{"webhookToken"}},
		{name: "key in plain text", plain: []string{"sshPrivateKey"}, keys: []string{"sshPrivateKey"}},
		{name: "key garbage", change: func(_ *testing.T, c testConfig) { c["sshPrivateKey"] = "not a key" },
			keys: []string{"sshPrivateKey"}},
		{name: "key with passphrase", change: func(t *testing.T, c testConfig) {
			c["sshPrivateKey"] = encryptedKey(t)
		}, keys: []string{"sshPrivateKey"}},
		{name: "branch rules with unknown field", change: func(_ *testing.T, c testConfig) {
			c["branchRules"] = `{"branch":["main"]}`
		}, keys: []string{"branchRules"}},
		{name: "branch rules with bad repository", change: func(_ *testing.T, c testConfig) {
			c["branchRules"] = `{"repositories":{"not a repo":{"branches":["main"]}}}`
		}, keys: []string{"branchRules"}},
		{name: "retention zero", change: func(_ *testing.T, c testConfig) { c["retentionDays"] = "0" },
			keys: []string{"retentionDays"}},
		{name: "allowlist entry", change: func(_ *testing.T, c testConfig) {
			c["allowedSourceIps"] = `["203.0.113.0/24","backlog.com"]`
		}, keys: []string{"allowedSourceIps"}},
		{name: "alarm email", change: func(_ *testing.T, c testConfig) { c["alarmEmail"] = "ops at example" },
			keys: []string{"alarmEmail"}},
		{name: "timeout over Lambda's limit", change: func(_ *testing.T, c testConfig) {
			c["lambdaTimeoutSeconds"] = "901"
		}, keys: []string{"lambdaTimeoutSeconds"}},
		{name: "memory not a number", change: func(_ *testing.T, c testConfig) { c["lambdaMemoryMb"] = "1GB" },
			keys: []string{"lambdaMemoryMb"}},
		{name: "FIFO batch over 10", change: func(_ *testing.T, c testConfig) { c["batchSize"] = "11" },
			keys: []string{"batchSize"}},
		{name: "log retention CloudWatch lacks", change: func(_ *testing.T, c testConfig) {
			c["logRetentionDays"] = "31"
		}, keys: []string{"logRetentionDays"}},
		{name: "force destroy not a bool", change: func(_ *testing.T, c testConfig) { c["forceDestroy"] = "yes!" },
			keys: []string{"forceDestroy"}},
		{name: "several at once", change: func(_ *testing.T, c testConfig) {
			delete(c, "gitServer")
			delete(c, "webhookToken")
			c["maxReceives"] = "0"
		}, keys: []string{"gitServer", "webhookToken", "maxReceives"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := newTestConfig(t)
			if tt.change != nil {
				tt.change(t, cfg)
			}
			saved := secretKeys
			secretKeys = without(secretKeys, tt.plain...)
			m, built, err := run(t, cfg)
			secretKeys = saved

			if err == nil {
				t.Fatal("the program accepted the configuration")
			}
			var problems []*configProblem
			for _, e := range unjoin(err) {
				var p *configProblem
				if errors.As(e, &p) {
					problems = append(problems, p)
				}
			}
			for _, k := range tt.keys {
				found := false
				for _, p := range problems {
					if p.Key == "backlog-webhook:"+k && strings.Contains(p.Fix, "pulumi config set") ||
						p.Key == "backlog-webhook:"+k && strings.Contains(p.Fix, "ssh-keyscan") {
						found = true
					}
				}
				if !found {
					t.Errorf("error does not name %s with a fix: %v", k, err)
				}
			}
			if len(problems) != len(tt.keys) {
				t.Errorf("%d problems reported, want %d: %v", len(problems), len(tt.keys), err)
			}
			if built || m.count() != 0 {
				t.Errorf("build ran %v and %d resources were registered before validation failed", built, m.count())
			}
			for _, secret := range []string{cfg["webhookToken"], cfg["sshPrivateKey"]} {
				if len(secret) > 8 && strings.Contains(err.Error(), strings.TrimSpace(secret)) {
					t.Error("the error message contains a secret value")
				}
			}
		})
	}
}

func TestKnownHostsAccepted(t *testing.T) {
	line := knownHostsLine(t, "demo.git.backlog.com")
	key := line[strings.Index(line, " ")+1:]
	tests := []struct {
		name, server, lines string
	}{
		{name: "plain", server: testServer, lines: line},
		{name: "comment and blank lines", server: testServer, lines: "# scanned\n\n" + line + "\n"},
		{name: "hashed", server: testServer, lines: knownhosts.HashHostname("demo.git.backlog.com") + " " + key},
		{name: "wildcard", server: testServer, lines: "*.git.backlog.com " + key},
		{name: "other port", server: "git@127.0.0.1:2222", lines: "[127.0.0.1]:2222 " + key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkKnownHosts(tt.lines, tt.server); err != nil {
				t.Fatalf("checkKnownHosts: %v", err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	m := mustRun(t, newTestConfig(t))
	fn := m.one(t, "aws:lambda/function:Function")
	want(t, fn, "memorySize", 1024.0)
	want(t, fn, "timeout", 300.0)
	want(t, fn, "environment.variables.NONCURRENT_RETENTION_DAYS", "14")
	want(t, fn, "environment.variables.BRANCH_RULES", `{"branches":["main","master","develop","staging"]}`)
	want(t, m.named(t, "aws:sqs/queue:Queue", "deliveries"), "visibilityTimeoutSeconds", 1800.0)
	want(t, m.one(t, "aws:s3/bucketV2:BucketV2"), "forceDestroy", false)
	want(t, m.one(t, "aws:secretsmanager/secret:Secret"), "recoveryWindowInDays", 30.0)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	if u := errors.Unwrap(err); u != nil {
		return unjoin(u)
	}
	return []error{err}
}

func without(list []string, drop ...string) []string {
	var out []string
	for _, s := range list {
		if !containsString(drop, s) {
			out = append(out, s)
		}
	}
	return out
}

func encryptedKey(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("secret passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block))
}
