package clone

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/backlog-webhook/backlog-webhook/handler/archive"
	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
)

type fixture struct {
	srv    *gitserver.Server
	root   string
	key    []byte // authorised private key
	url    string // URL of DEMO/api
	parent string // first commit on main
	commit string // tip of main
}

// newFixture serves DEMO/api (two commits on main) to the given authorised public keys plus one of its own.
func newFixture(t *testing.T, extra ...gossh.PublicKey) *fixture {
	t.Helper()
	root := t.TempDir()
	dir := gitserver.RepoDir(root, "DEMO", "api")
	first := []gitserver.File{{Path: "old.txt", Data: []byte("old")}}
	parent, err := gitserver.BuildRepo(t.Context(), dir, "main", first)
	if err != nil {
		t.Fatal(err)
	}
	commit, err := gitserver.SampleRepo(root, "DEMO", "api")
	if err != nil {
		t.Fatal(err)
	}
	priv, pub, err := gitserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := gitserver.Start(gitserver.Options{Root: root, AuthorizedKeys: append(extra, pub)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	url, err := RepoURL(srv.ServerURL("git"), "DEMO", "api")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, root: root, key: priv, url: url, parent: parent, commit: commit}
}

func revParse(t *testing.T, gitDir, rev string) plumbing.Hash {
	t.Helper()
	out, err := exec.Command("git", "--git-dir="+gitDir, "rev-parse", rev).Output()
	if err != nil {
		t.Fatalf("git rev-parse %s: %v", rev, err)
	}
	return plumbing.NewHash(strings.TrimSpace(string(out)))
}

func TestClone(t *testing.T) {
	f := newFixture(t)
	tmp := t.TempDir()
	repo, err := Clone(t.Context(), Options{
		URL: f.url, Branch: "main", PrivateKey: f.key, KnownHosts: f.srv.KnownHosts(), TempDir: tmp,
	})
	if err != nil {
		t.Fatal(err)
	}

	gitDir := gitserver.RepoDir(f.root, "DEMO", "api")
	if want := revParse(t, gitDir, "main"); repo.Commit != want {
		t.Errorf("Commit = %s, want %s", repo.Commit, want)
	}
	if want := revParse(t, gitDir, "main^{tree}"); repo.Tree != want {
		t.Errorf("Tree = %s, want %s", repo.Tree, want)
	}
	if !repo.Time.Equal(gitserver.CommitTime) {
		t.Errorf("Time = %v, want %v", repo.Time, gitserver.CommitTime)
	}
	if _, err := object.GetTree(repo.Objects(), repo.Tree); err != nil {
		t.Errorf("tree not readable from Objects: %v", err)
	}
	if _, err := repo.Objects().EncodedObject(plumbing.CommitObject, plumbing.NewHash(f.parent)); err == nil {
		t.Error("parent commit was fetched: the clone is not shallow")
	}
	opts := archive.Options{Modified: repo.Time}
	stats, err := archive.Write(t.Context(), io.Discard, repo.Objects(), repo.Tree, opts)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Files != 9 {
		t.Errorf("archive of the clone has %d files, the sample repository has 9", stats.Files)
	}

	if err := repo.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("Close left %d entries in the temp dir", len(left))
	}
}

func marshalKey(t *testing.T, key any) []byte {
	t.Helper()
	block, err := gossh.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

func TestCloneKeyTypes(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub, _ := gossh.NewPublicKey(&rsaKey.PublicKey)
	ecPub, _ := gossh.NewPublicKey(&ecKey.PublicKey)
	f := newFixture(t, rsaPub, ecPub)

	tests := []struct {
		name string
		key  []byte
	}{
		{"ed25519", f.key},
		{"rsa", marshalKey(t, rsaKey)},
		{"ecdsa", marshalKey(t, ecKey)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo, err := Clone(t.Context(), Options{
				URL: f.url, Branch: "main", PrivateKey: tt.key, KnownHosts: f.srv.KnownHosts(), TempDir: t.TempDir(),
			})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = repo.Close() }()
			if repo.Commit.String() != f.commit {
				t.Errorf("Commit = %s, want %s", repo.Commit, f.commit)
			}
		})
	}
}

func TestCloneErrors(t *testing.T) {
	f := newFixture(t)
	stranger, _, err := gitserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	_, otherHostKey, err := gitserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(f.srv.Addr())
	changed := knownhosts.Line([]string{knownhosts.Normalize(f.srv.Addr())}, otherHostKey) + "\n"
	elsewhere := knownhosts.Line([]string{"[127.0.0.2]:" + port}, f.srv.HostKey()) + "\n"
	missingRepo, _ := RepoURL(f.srv.ServerURL("git"), "DEMO", "nope")

	tests := []struct {
		name       string
		url        string
		branch     string
		key        []byte
		knownHosts string
		want       error
		msg        string
	}{
		{"host key changed", f.url, "main", f.key, changed, ErrHostKeyMismatch,
			"clone DEMO/api@main: host key mismatch for [127.0.0.1]:" + port},
		{"host unknown", f.url, "main", f.key, elsewhere, ErrHostUnknown,
			"clone DEMO/api@main: host not in known_hosts: [127.0.0.1]:" + port},
		{"no known_hosts", f.url, "main", f.key, " \n", ErrNoKnownHosts, "clone DEMO/api@main: no known_hosts"},
		{"key refused", f.url, "main", stranger, string(f.srv.KnownHosts()), ErrAuthRefused,
			"clone DEMO/api@main: server refused the SSH key"},
		{"missing branch", f.url, "nope", f.key, string(f.srv.KnownHosts()), ErrBranchNotFound,
			"clone DEMO/api@nope: branch not found"},
		{"missing repo", missingRepo, "main", f.key, string(f.srv.KnownHosts()), ErrRepoNotFound,
			"clone DEMO/nope@main: repository not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			repo, err := Clone(t.Context(), Options{
				URL: tt.url, Branch: tt.branch, PrivateKey: tt.key, KnownHosts: []byte(tt.knownHosts), TempDir: tmp,
			})
			if err == nil {
				_ = repo.Close()
				t.Fatal("Clone succeeded")
			}
			t.Logf("err: %v", err)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.msg) {
				t.Errorf("err = %q, want prefix %q", err, tt.msg)
			}
			if strings.Contains(err.Error(), pemBody(t, tt.key)) {
				t.Error("error contains private key material")
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("failed clone left %d entries in the temp dir", len(left))
			}
		})
	}
}

// pemBody returns a distinctive run of the key's base64 body.
func pemBody(t *testing.T, key []byte) string {
	t.Helper()
	lines := strings.Split(string(key), "\n")
	if len(lines) < 3 {
		t.Fatal("key is not PEM")
	}
	return lines[2][:32]
}

func TestCloneCancelled(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Clone(ctx, Options{URL: f.url, Branch: "main", PrivateKey: f.key, KnownHosts: f.srv.KnownHosts()})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestCloneCancelledWhileStalled cancels a clone whose server accepts the TCP
// connection and never answers: Clone must return with the context's error.
func TestCloneCancelledWhileStalled(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		select {
		case c := <-accepted:
			_ = c.Close()
		default:
		}
	})

	url, _ := RepoURL("git@"+ln.Addr().String(), "DEMO", "api")
	knownHosts := knownhosts.Line([]string{knownhosts.Normalize(ln.Addr().String())}, f.srv.HostKey()) + "\n"
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		c := <-accepted
		accepted <- c
		cancel()
	}()

	_, err = Clone(ctx, Options{URL: url, Branch: "main", PrivateKey: f.key, KnownHosts: []byte(knownHosts)})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
