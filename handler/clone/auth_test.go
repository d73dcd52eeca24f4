package clone

import (
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
)

func TestHostKeyAlgorithms(t *testing.T) {
	_, ed, err := gitserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := gossh.NewPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	lines := knownhosts.Line([]string{"git.example.com"}, ed) + "\n" +
		knownhosts.Line([]string{"[git.example.com]:2222"}, rs) + "\n" +
		knownhosts.Line([]string{knownhosts.HashHostname("hashed.example.com")}, ed) + "\n"
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	cb, err := knownhosts.New(path)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, host, want string
	}{
		{"default port", "git.example.com:22", "ssh-ed25519"},
		{"other port", "git.example.com:2222", "rsa-sha2-512 rsa-sha2-256 ssh-rsa"},
		{"hashed host", "hashed.example.com:22", "ssh-ed25519"},
		{"unknown host", "other.example.com:22", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(hostKeyAlgorithms(cb, tt.host), " "); got != tt.want {
				t.Errorf("hostKeyAlgorithms(%s) = %q, want %q", tt.host, got, tt.want)
			}
		})
	}
}
