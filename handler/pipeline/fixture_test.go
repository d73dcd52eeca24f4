package pipeline_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/backlog-webhook/backlog-webhook/handler/filekeys"
	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
	"github.com/backlog-webhook/backlog-webhook/handler/localdb"
	"github.com/backlog-webhook/backlog-webhook/handler/localstore"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/rules"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

// fixture is a pipeline over the local adapters and an SSH Git server on loopback.
type fixture struct {
	root  string
	git   *gitserver.Server
	store *localstore.Store
	db    *localdb.DB
	keys  pipeline.KeySource
	cfg   pipeline.Config
}

func newFixture(t *testing.T, r rules.Rules) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{root: filepath.Join(dir, "git")}
	if err := os.Mkdir(f.root, 0o755); err != nil {
		t.Fatal(err)
	}
	priv, pub, err := gitserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if f.git, err = gitserver.Start(gitserver.Options{Root: f.root, AuthorizedKeys: []gossh.PublicKey{pub}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.git.Close() })

	keyFile, hostsFile := filepath.Join(dir, "id_ed25519"), filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hostsFile, f.git.KnownHosts(), 0o600); err != nil {
		t.Fatal(err)
	}
	f.keys = filekeys.New(keyFile, hostsFile)
	if f.store, err = localstore.Open(filepath.Join(dir, "archives")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.store.Close() })
	if f.db, err = localdb.Open(filepath.Join(dir, "ledger.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.db.Close() })
	f.cfg = pipeline.Config{GitServer: f.git.ServerURL("git"), Rules: r, TempDir: t.TempDir()}
	return f
}

// pipeline returns a pipeline over the fixture's adapters, or over the given replacements.
func (f *fixture) pipeline(store pipeline.Store, ledger pipeline.Ledger) *pipeline.Pipeline {
	if store == nil {
		store = f.store
	}
	if ledger == nil {
		ledger = f.db
	}
	return pipeline.New(f.cfg, store, ledger, f.keys, nil)
}

// commit makes files the new tip of branch in PROJECT/repo and returns the commit id.
func (f *fixture) commit(t *testing.T, project, repo, branch string, files []gitserver.File) string {
	t.Helper()
	id, err := gitserver.BuildRepo(context.Background(), gitserver.RepoDir(f.root, project, repo), branch, files)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// push is a project webhook delivery announcing commit on branch.
func push(t *testing.T, project, repo, branch, commit string) webhook.Delivery {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"id": 1, "type": 12, "project": map[string]any{"projectKey": project},
		"content": map[string]any{"change_type": "update", "ref": "refs/heads/" + branch, "revision_type": "commit",
			"repository": map[string]any{"name": repo}, "revision_count": 1,
			"revisions": []map[string]any{{"rev": commit, "comment": "change"}}},
		"createdUser": map[string]any{"name": "Taro"}, "created": "2026-11-30T09:15:00Z",
	})
	if err != nil {
		t.Fatal(err)
	}
	return webhook.NewDelivery("application/json", body, time.Now())
}

// files returns a small tree whose README says text.
func files(text string) []gitserver.File {
	return []gitserver.File{
		{Path: "README.md", Data: []byte(text)},
		{Path: "bin/run.sh", Data: []byte("#!/bin/sh\necho hi\n"), Exec: true},
		{Path: "docs/guide.md", Data: []byte("guide\n")},
		{Path: "docs/current.md", Symlink: "guide.md"},
	}
}
