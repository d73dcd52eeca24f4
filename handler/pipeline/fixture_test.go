package pipeline_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
	"github.com/backlog-webhook/backlog-webhook/handler/internal/localenv"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/rules"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

// fixture is a pipeline over the local adapters and an SSH Git server on loopback.
type fixture struct {
	*localenv.Env
	keys pipeline.KeySource
	cfg  pipeline.Config
}

func newFixture(t *testing.T, r rules.Rules) *fixture {
	t.Helper()
	env := localenv.New(t, nil)
	return &fixture{Env: env, keys: env.Keys(nil),
		cfg: pipeline.Config{GitServer: env.Git.ServerURL("git"), Rules: r, TempDir: t.TempDir()}}
}

// pipeline returns a pipeline over the fixture's adapters, or over the given replacements.
func (f *fixture) pipeline(store pipeline.Store, ledger pipeline.Ledger) *pipeline.Pipeline {
	if store == nil {
		store = f.Store
	}
	if ledger == nil {
		ledger = f.DB
	}
	return pipeline.New(f.cfg, store, ledger, f.keys, nil)
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
