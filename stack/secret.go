package main

import (
	"encoding/json"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// sshSecretValue is the JSON the function reads from the SSH secret.
type sshSecretValue struct {
	PrivateKey string `json:"id_ed25519"`
	PublicKey  string `json:"id_ed25519.pub"`
	KnownHosts string `json:"known_hosts"`
}

// newSecret creates the SSH secret. When the key is configured its value is stored too (as a Pulumi
// secret); otherwise the secret is left empty for `aws secretsmanager put-secret-value`.
func newSecret(ctx *pulumi.Context, cfg Config) (*secretsmanager.Secret, error) {
	recovery := 30
	if cfg.ForceDestroy {
		recovery = 0
	}
	secret, err := secretsmanager.NewSecret(ctx, "ssh", &secretsmanager.SecretArgs{
		Description:          pulumi.String("SSH key and known_hosts the archiver uses to clone from Backlog"),
		RecoveryWindowInDays: pulumi.Int(recovery),
	})
	if err != nil {
		return nil, err
	}
	if cfg.SSHPrivateKey == "" {
		return secret, nil
	}

	value, err := json.Marshal(sshSecretValue{
		PrivateKey: cfg.SSHPrivateKey,
		PublicKey:  cfg.SSHPublicKey,
		KnownHosts: cfg.KnownHosts + "\n",
	})
	if err != nil {
		return nil, err
	}
	_, err = secretsmanager.NewSecretVersion(ctx, "ssh", &secretsmanager.SecretVersionArgs{
		SecretId:     secret.ID(),
		SecretString: pulumi.ToSecret(pulumi.String(string(value))).(pulumi.StringOutput),
	}, pulumi.Parent(secret))
	if err != nil {
		return nil, err
	}
	return secret, nil
}
