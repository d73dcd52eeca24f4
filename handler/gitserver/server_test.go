package gitserver

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// startServer serves a fresh root holding the sample repository DEMO/api and
// returns the server, the authorised private key and the sample commit id.
func startServer(t *testing.T) (*Server, []byte, string) {
	t.Helper()
	root := t.TempDir()
	commit, err := SampleRepo(root, "DEMO", "api")
	if err != nil {
		t.Fatal(err)
	}
	priv, pub, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Start(Options{Root: root, AuthorizedKeys: []gossh.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return srv, priv, commit
}

// dial connects to srv with privatePEM, checking the host key against srv.KnownHosts.
func dial(t *testing.T, srv *Server, privatePEM []byte) (*gossh.Client, error) {
	t.Helper()
	signer, err := gossh.ParsePrivateKey(privatePEM)
	if err != nil {
		t.Fatal(err)
	}
	khPath := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(khPath, srv.KnownHosts(), 0o600); err != nil {
		t.Fatal(err)
	}
	hostKeys, err := knownhosts.New(khPath)
	if err != nil {
		t.Fatal(err)
	}
	return gossh.Dial("tcp", srv.Addr(), &gossh.ClientConfig{
		User:            "git",
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: hostKeys,
	})
}

// run runs command in a new session and returns its stdout, stderr and exit status.
func run(t *testing.T, c *gossh.Client, command string) (string, string, int) {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sess.Close() }()
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errb
	sess.Stdin = strings.NewReader("0000") // flush-pkt: the client wants nothing
	err = sess.Run(command)
	var exit *gossh.ExitError
	switch {
	case err == nil:
		return out.String(), errb.String(), 0
	case errors.As(err, &exit):
		return out.String(), errb.String(), exit.ExitStatus()
	default:
		t.Fatalf("run %q: %v", command, err)
		return "", "", 0
	}
}

func TestUploadPackAdvertisesBranch(t *testing.T) {
	srv, priv, commit := startServer(t)
	c, err := dial(t, srv, priv)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()

	out, stderr, code := run(t, c, "git-upload-pack '/DEMO/api.git'")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(out, commit+" refs/heads/main") {
		t.Errorf("advertisement lacks %s refs/heads/main:\n%s", commit, out)
	}
	if !strings.Contains(out, "shallow") {
		t.Errorf("advertisement lacks the shallow capability:\n%s", out)
	}
}

func TestRefusesCommands(t *testing.T) {
	srv, priv, _ := startServer(t)
	outside := filepath.Join(filepath.Dir(srv.root), "outside.git")
	if _, err := BuildRepo(t.Context(), outside, "main", []File{{Path: "a", Data: []byte("a")}}); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(srv.root, "DEMO", "link.git")); err != nil {
		t.Fatal(err)
	}
	c, err := dial(t, srv, priv)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()

	tests := []struct {
		name, command, stderr string
	}{
		{"receive-pack", "git-receive-pack '/DEMO/api.git'", "only git-upload-pack"},
		{"shell", "sh -c id", "only git-upload-pack"},
		{"extra argument", "git-upload-pack --stateless-rpc '/DEMO/api.git'", "only git-upload-pack"},
		{"missing repo", "git-upload-pack '/DEMO/nope.git'", "does not appear to be a git repository"},
		{"dot-dot escape", "git-upload-pack '/../outside.git'", "does not appear to be a git repository"},
		{"relative escape", "git-upload-pack 'DEMO/../../outside.git'", "does not appear to be a git repository"},
		{"symlink escape", "git-upload-pack '/DEMO/link.git'", "does not appear to be a git repository"},
		{"root itself", "git-upload-pack '/'", "does not appear to be a git repository"},
		{"project dir", "git-upload-pack '/DEMO'", "does not appear to be a git repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, code := run(t, c, tt.command)
			if code == 0 || out != "" {
				t.Errorf("exit %d, stdout %q: want a refusal", code, out)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q, want it to contain %q", stderr, tt.stderr)
			}
		})
	}
}

func TestRefusesUnauthorisedKey(t *testing.T) {
	srv, _, _ := startServer(t)
	other, _, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := dial(t, srv, other)
	if err == nil {
		_ = c.Close()
		t.Fatal("dial with an unauthorised key succeeded")
	}
	if !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("err = %v, want an authentication failure", err)
	}
}

func TestKnownHostsAndServerURL(t *testing.T) {
	srv, _, _ := startServer(t)
	_, port, err := net.SplitHostPort(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	line := string(srv.KnownHosts())
	if want := "[127.0.0.1]:" + port + " ssh-ed25519 "; !strings.HasPrefix(line, want) {
		t.Errorf("KnownHosts() = %q, want prefix %q", line, want)
	}
	if got, want := srv.ServerURL("git"), "git@127.0.0.1:"+port; got != want {
		t.Errorf("ServerURL() = %q, want %q", got, want)
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	srv, _, _ := startServer(t)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", srv.Addr()); err == nil {
		t.Error("server still accepts connections after Close")
	}
}
