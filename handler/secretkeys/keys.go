package secretkeys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"golang.org/x/crypto/ssh"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

// Field names of the secret's JSON object.
const (
	FieldPrivateKey = "id_ed25519"
	FieldPublicKey  = "id_ed25519.pub"
	FieldKnownHosts = "known_hosts"
)

// fetchTimeout bounds a shared fetch, which runs on after the caller that started it gives up.
const fetchTimeout = 30 * time.Second

// ErrInvalidSecret is wrapped by errors about the secret's content.
var ErrInvalidSecret = errors.New("invalid ssh secret")

// Compile-time check that Keys provides what the pipeline uses.
var _ pipeline.KeySource = (*Keys)(nil)

// Keys is a pipeline.KeySource backed by one Secrets Manager secret. It is safe for concurrent use.
type Keys struct {
	client *secretsmanager.Client
	name   string
	log    *slog.Logger

	mu       sync.Mutex
	cached   *pipeline.Credentials
	inflight *fetch
}

// fetch is one GetSecretValue call that concurrent callers wait for.
type fetch struct {
	done  chan struct{}
	creds pipeline.Credentials
	err   error
}

// Option changes how New builds Keys.
type Option func(*Keys)

// WithLogger sets the logger that records the loaded key's fingerprint. The default discards.
func WithLogger(log *slog.Logger) Option {
	return func(k *Keys) { k.log = log }
}

// New returns Keys that read the secret name (a name or ARN) through client.
func New(client *secretsmanager.Client, name string, opts ...Option) *Keys {
	k := &Keys{client: client, name: name, log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(k)
	}

	return k
}

// Credentials returns the SSH private key and known_hosts from the secret,
// fetching it on the first call and after a failed one.
func (k *Keys) Credentials(ctx context.Context) (pipeline.Credentials, error) {
	k.mu.Lock()
	if k.cached != nil {
		c := clone(*k.cached)
		k.mu.Unlock()
		return c, nil
	}
	f := k.inflight
	if f == nil {
		f = &fetch{done: make(chan struct{})}
		k.inflight = f
		go k.run(context.WithoutCancel(ctx), f)
	}
	k.mu.Unlock()

	select {
	case <-f.done:
	case <-ctx.Done():
		return pipeline.Credentials{}, fmt.Errorf("ssh secret %s: %w", k.name, ctx.Err())
	}
	if f.err != nil {
		return pipeline.Credentials{}, f.err
	}

	return clone(f.creds), nil
}

// run performs f and publishes its result; only a success is cached.
func (k *Keys) run(ctx context.Context, f *fetch) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()

	f.creds, f.err = k.load(ctx)

	k.mu.Lock()
	if f.err == nil {
		k.cached = &f.creds
	}
	k.inflight = nil
	k.mu.Unlock()
	close(f.done)
}

// load reads and checks the secret.
func (k *Keys) load(ctx context.Context) (pipeline.Credentials, error) {
	out, err := k.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(k.name)})
	if err != nil {
		return pipeline.Credentials{}, fmt.Errorf("ssh secret %s: %w", k.name, err)
	}
	if out.SecretString == nil {
		return pipeline.Credentials{}, fmt.Errorf("ssh secret %s: %w: no SecretString (binary secrets are not read)",
			k.name, ErrInvalidSecret)
	}

	creds, fingerprint, err := parse(*out.SecretString)
	if err != nil {
		return pipeline.Credentials{}, fmt.Errorf("ssh secret %s: %w", k.name, err)
	}
	k.log.InfoContext(ctx, "ssh key loaded", "secret", k.name, "fingerprint", fingerprint,
		"known_hosts_lines", bytes.Count(creds.KnownHosts, []byte("\n"))+1)

	return creds, nil
}

// parse checks the secret's JSON and returns the credentials and the key's fingerprint.
// Its errors name fields, never values.
func parse(secret string) (pipeline.Credentials, string, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(secret), &fields); err != nil {
		return pipeline.Credentials{}, "", fmt.Errorf("%w: not a JSON object", ErrInvalidSecret)
	}

	values := map[string]string{}
	for name, raw := range fields {
		switch name {
		case FieldPrivateKey, FieldPublicKey, FieldKnownHosts:
		default:
			return pipeline.Credentials{}, "", fmt.Errorf("%w: unknown field %q (expected %s, %s, %s)",
				ErrInvalidSecret, name, FieldPrivateKey, FieldPublicKey, FieldKnownHosts)
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return pipeline.Credentials{}, "", fmt.Errorf("%w: field %q is not a string", ErrInvalidSecret, name)
		}
		values[name] = s
	}
	for _, name := range []string{FieldPrivateKey, FieldKnownHosts} {
		if strings.TrimSpace(values[name]) == "" {
			return pipeline.Credentials{}, "", fmt.Errorf("%w: field %q is missing or empty", ErrInvalidSecret, name)
		}
	}

	fingerprint, err := checkKey([]byte(values[FieldPrivateKey]))
	if err != nil {
		return pipeline.Credentials{}, "", err
	}
	if err := checkKnownHosts([]byte(values[FieldKnownHosts])); err != nil {
		return pipeline.Credentials{}, "", err
	}

	return pipeline.Credentials{
		PrivateKey: []byte(values[FieldPrivateKey]),
		KnownHosts: []byte(values[FieldKnownHosts]),
	}, fingerprint, nil
}

// checkKey parses the private key and returns its public key's SHA-256 fingerprint.
func checkKey(pem []byte) (string, error) {
	signer, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return "", fmt.Errorf("%w: field %q is protected by a passphrase", ErrInvalidSecret, FieldPrivateKey)
	}
	if err != nil {
		return "", fmt.Errorf("%w: field %q is not a private key", ErrInvalidSecret, FieldPrivateKey)
	}

	return ssh.FingerprintSHA256(signer.PublicKey()), nil
}

// checkKnownHosts requires at least one entry and every non-blank, non-comment line to parse.
func checkKnownHosts(data []byte) error {
	entries := 0
	for rest := data; ; entries++ {
		var err error
		_, _, _, _, rest, err = ssh.ParseKnownHosts(rest)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: field %q has an unreadable entry", ErrInvalidSecret, FieldKnownHosts)
		}
	}
	if entries == 0 {
		return fmt.Errorf("%w: field %q has no entry", ErrInvalidSecret, FieldKnownHosts)
	}

	return nil
}

func clone(c pipeline.Credentials) pipeline.Credentials {
	return pipeline.Credentials{PrivateKey: bytes.Clone(c.PrivateKey), KnownHosts: bytes.Clone(c.KnownHosts)}
}
