package pipeline_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/backlog-webhook/backlog-webhook/handler/filekeys"
	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

// gitEnv is an SSH Git server on loopback and the key files a pipeline uses to reach it.
type gitEnv struct {
	root      string
	git       *gitserver.Server
	priv      []byte // the authorized private key, PEM
	keyFile   string
	hostsFile string
}

// newGitEnv starts a Git server that accepts one fresh key, written to a key file with a
// known_hosts file for addr (the server's own address when empty, or a proxy's).
func newGitEnv(t *testing.T) *gitEnv {
	t.Helper()
	dir := t.TempDir()
	e := &gitEnv{root: filepath.Join(dir, "git"), keyFile: filepath.Join(dir, "id_ed25519"),
		hostsFile: filepath.Join(dir, "known_hosts")}
	if err := os.MkdirAll(e.root, 0o755); err != nil {
		t.Fatal(err)
	}
	priv, pub, err := gitserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	e.priv = priv
	if e.git, err = gitserver.Start(gitserver.Options{Root: e.root, AuthorizedKeys: []gossh.PublicKey{pub}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.git.Close() })
	writeFile(t, e.keyFile, priv)
	writeFile(t, e.hostsFile, e.git.KnownHosts())
	return e
}

// keys returns a key source over the env's key files.
func (e *gitEnv) keys() pipeline.KeySource { return filekeys.New(e.keyFile, e.hostsFile) }

// trustAt rewrites known_hosts so the server's host key is expected at addr (a proxy in front of it).
func (e *gitEnv) trustAt(t *testing.T, addr string) {
	t.Helper()
	writeFile(t, e.hostsFile, []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, e.git.HostKey())+"\n"))
}

// commit makes files the new tip of branch of PROJECT/repo and returns the commit id.
func (e *gitEnv) commit(t *testing.T, project, repo, branch string, files []gitserver.File) string {
	t.Helper()
	id, err := gitserver.BuildRepo(context.Background(), gitserver.RepoDir(e.root, project, repo), branch, files)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// noise returns n incompressible bytes, the same for the same seed.
func noise(seed uint64, n int) []byte {
	r := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// bigFiles is a tree whose zip is larger than size: one incompressible file and a README.
func bigFiles(seed uint64, size int) []gitserver.File {
	return []gitserver.File{
		{Path: "README.md", Data: bytes.Repeat([]byte("big\n"), int(seed%7)+1)},
		{Path: "assets/blob.bin", Data: noise(seed, size)},
	}
}
