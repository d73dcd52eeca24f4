package secretkeys_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"golang.org/x/crypto/ssh"

	"github.com/backlog-webhook/backlog-webhook/handler/secretkeys"
	"github.com/backlog-webhook/backlog-webhook/internal/awspeers"
)

const secretName = "backlog-webhook/ssh"

// testKey is a fresh ed25519 key pair in the secret's formats.
type testKey struct {
	private, public, knownHosts string
}

func newTestKey(t *testing.T) testKey {
	t.Helper()

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "test")
	if err != nil {
		t.Fatalf("marshal key: %v", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatalf("public key: %v", err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))

	return testKey{
		private:    string(pem.EncodeToMemory(block)),
		public:     line + " test",
		knownHosts: "# Backlog\nexample.git.backlog.com " + line + "\n[127.0.0.1]:2222 " + line + "\n",
	}
}

func secretJSON(t *testing.T, fields map[string]any) string {
	t.Helper()

	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatalf("marshal secret: %v", err)
	}

	return string(b)
}

func TestCredentials(t *testing.T) {
	key := newTestKey(t)
	encrypted := func() string {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("pass"))
		if err != nil {
			t.Fatalf("marshal encrypted key: %v", err)
		}
		return string(pem.EncodeToMemory(block))
	}()

	tests := []struct {
		name    string
		secret  string // absent from the peer when empty
		wantErr string // substring of the error; empty for success
	}{
		{name: "complete", secret: secretJSON(t, map[string]any{
			"id_ed25519": key.private, "id_ed25519.pub": key.public, "known_hosts": key.knownHosts})},
		{name: "without public key", secret: secretJSON(t, map[string]any{
			"id_ed25519": key.private, "known_hosts": key.knownHosts})},
		{name: "missing private key", secret: secretJSON(t, map[string]any{
			"id_ed25519.pub": key.public, "known_hosts": key.knownHosts}), wantErr: `field "id_ed25519" is missing`},
		{name: "missing known_hosts", secret: secretJSON(t, map[string]any{
			"id_ed25519": key.private, "id_ed25519.pub": key.public}), wantErr: `field "known_hosts" is missing`},
		{name: "blank known_hosts", secret: secretJSON(t, map[string]any{
			"id_ed25519": key.private, "known_hosts": " \n"}), wantErr: `field "known_hosts" is missing`},
		{name: "comment-only known_hosts", secret: secretJSON(t, map[string]any{
			"id_ed25519": key.private, "known_hosts": "# none yet\n"}), wantErr: `field "known_hosts" has no entry`},
		{name: "garbled known_hosts", secret: secretJSON(t, map[string]any{
			"id_ed25519": key.private, "known_hosts": "host ssh-ed25519 !!!\n"}), wantErr: "unreadable entry"},
		{name: "misspelt field", secret: secretJSON(t, map[string]any{
			"private_key": key.private, "known_hosts": key.knownHosts}), wantErr: `unknown field "private_key"`},
		{name: "field not a string", secret: secretJSON(t, map[string]any{
			"id_ed25519": 7, "known_hosts": key.knownHosts}), wantErr: `field "id_ed25519" is not a string`},
		{name: "raw key instead of JSON", secret: key.private, wantErr: "not a JSON object"},
		{name: "not a private key", secret: secretJSON(t, map[string]any{
			"id_ed25519": key.public, "known_hosts": key.knownHosts}), wantErr: `field "id_ed25519" is not a private key`},
		{name: "passphrase", secret: secretJSON(t, map[string]any{
			"id_ed25519": encrypted, "known_hosts": key.knownHosts}), wantErr: "protected by a passphrase"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			endpoint := awspeers.Secrets(t, map[string]string{secretName: tc.secret})
			keys := secretkeys.New(awspeers.SecretsClient(endpoint), secretName)

			creds, err := keys.Credentials(t.Context())
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Credentials: %v", err)
				}
				if string(creds.PrivateKey) != key.private || string(creds.KnownHosts) != key.knownHosts {
					t.Fatal("Credentials returned other bytes than the secret holds")
				}
				return
			}

			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, secretkeys.ErrInvalidSecret) {
				t.Fatalf("err = %v, want ErrInvalidSecret containing %q", err, tc.wantErr)
			}
			for _, secretPart := range []string{"PRIVATE KEY", key.public[12:40], encrypted[40:60]} {
				if strings.Contains(err.Error(), secretPart) {
					t.Fatal("error text contains key material")
				}
			}
		})
	}
}

func TestSecretNotFound(t *testing.T) {
	endpoint := awspeers.Secrets(t, map[string]string{})
	_, err := secretkeys.New(awspeers.SecretsClient(endpoint), secretName).Credentials(t.Context())

	var nf *smtypes.ResourceNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), secretName) {
		t.Fatalf("err = %v, want ResourceNotFoundException naming %s", err, secretName)
	}
}

func TestFetchedOnceAndShared(t *testing.T) {
	key := newTestKey(t)
	peer := awspeers.StartSecretsT(t, map[string]string{secretName: secretJSON(t, map[string]any{
		"id_ed25519": key.private, "known_hosts": key.knownHosts})})

	// Hold the first request until every caller has started, so callers overlap the fetch.
	release := make(chan struct{})
	gate := &gatedClient{next: awshttp.NewBuildableClient(), release: release}
	client := awspeers.SecretsClient(peer.URL, func(o *secretsmanager.Options) { o.HTTPClient = gate })
	keys := secretkeys.New(client, secretName)

	const callers = 16
	var started, done sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		started.Add(1)
		done.Go(func() {
			started.Done()
			_, errs[i] = keys.Credentials(t.Context())
		})
	}
	started.Wait()
	close(release)
	done.Wait()

	for _, err := range errs {
		if err != nil {
			t.Fatalf("Credentials: %v", err)
		}
	}
	if _, err := keys.Credentials(t.Context()); err != nil {
		t.Fatalf("cached Credentials: %v", err)
	}
	if n := peer.Requests(); n != 1 {
		t.Fatalf("peer saw %d requests for %d+1 calls, want 1", n, callers)
	}
}

func TestFailedFetchIsNotCached(t *testing.T) {
	key := newTestKey(t)
	peer := awspeers.StartSecretsT(t, map[string]string{})
	keys := secretkeys.New(awspeers.SecretsClient(peer.URL), secretName)

	if _, err := keys.Credentials(t.Context()); err == nil {
		t.Fatal("Credentials succeeded before the secret existed")
	}
	peer.Put(secretName, secretJSON(t, map[string]any{"id_ed25519": key.private, "known_hosts": key.knownHosts}))
	if _, err := keys.Credentials(t.Context()); err != nil {
		t.Fatalf("Credentials after the secret was created: %v", err)
	}
	if n := peer.Requests(); n != 2 {
		t.Fatalf("peer saw %d requests, want 2", n)
	}
}

// gatedClient holds requests until release is closed.
type gatedClient struct {
	next    *awshttp.BuildableClient
	release chan struct{}
}

func (g *gatedClient) Do(r *http.Request) (*http.Response, error) {
	<-g.release
	return g.next.Do(r)
}
