// Package localenv sets up, for tests, the local mode's adapters beside an SSH Git
// server on loopback: a key pair the server accepts and its files, a known_hosts
// file for the server, a versioned store and a ledger database. Everything lives in
// the test's temporary directory and stops when the test ends.
package localenv

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/backlog-webhook/backlog-webhook/handler/filekeys"
	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
	"github.com/backlog-webhook/backlog-webhook/handler/localdb"
	"github.com/backlog-webhook/backlog-webhook/handler/localstore"
)

// Env is one test's local environment.
type Env struct {
	Root           string            // the Git server's repositories, as Root/PROJECT/repo.git
	Git            *gitserver.Server // serves Root on 127.0.0.1
	PrivateKey     []byte            // the key the server accepts, also in KeyFile
	KeyFile        string
	KnownHostsFile string // the server's host key
	StoreDir       string // where Store keeps its archives
	Store          *localstore.Store
	DB             *localdb.DB
}

// New starts the environment; the Git server logs to log (nil discards).
func New(t testing.TB, log *slog.Logger) *Env {
	t.Helper()

	dir := t.TempDir()
	e := &Env{Root: filepath.Join(dir, "git"), KeyFile: filepath.Join(dir, "id_ed25519"),
		KnownHostsFile: filepath.Join(dir, "known_hosts"), StoreDir: filepath.Join(dir, "archives")}
	if err := os.Mkdir(e.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	priv, pub, err := gitserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	e.PrivateKey = priv
	e.Git, err = gitserver.Start(gitserver.Options{Root: e.Root, AuthorizedKeys: []gossh.PublicKey{pub}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Git.Close() })
	for name, b := range map[string][]byte{e.KeyFile: priv, e.KnownHostsFile: e.Git.KnownHosts()} {
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	if e.Store, err = localstore.Open(e.StoreDir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Store.Close() })
	if e.DB, err = localdb.Open(filepath.Join(dir, "backlog-webhook.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.DB.Close() })
	return e
}

// Keys returns the key source over the environment's key files.
func (e *Env) Keys(log *slog.Logger) *filekeys.Keys {
	if log == nil {
		return filekeys.New(e.KeyFile, e.KnownHostsFile)
	}
	return filekeys.New(e.KeyFile, e.KnownHostsFile, filekeys.WithLogger(log))
}

// Commit makes files the whole tree of a new tip of branch in PROJECT/repo and returns the commit id.
func (e *Env) Commit(t testing.TB, project, repo, branch string, files []gitserver.File) string {
	t.Helper()

	id, err := gitserver.BuildRepo(context.Background(), gitserver.RepoDir(e.Root, project, repo), branch, files)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
