package pipeline_test

import (
	"testing"

	"github.com/backlog-webhook/backlog-webhook/handler/layout"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/rules"
)

// A webhook delivered again after it was processed, when the branch has moved on since,
// must not store a version that no ledger record points at.
func TestRedeliveryAfterTheBranchMovedStoresNoUnrecordedVersion(t *testing.T) {
	e := newGitEnv(t)
	store, db := localAdapters(t)
	p := pipeline.New(pipeline.Config{GitServer: e.git.ServerURL("git"), Rules: rules.Default()}, store, db,
		e.keys(), nil)
	key := layout.Key("DEMO", "api", "main")

	c1 := e.commit(t, "DEMO", "api", "main", files("one\n"))
	d1 := push(t, "DEMO", "api", "main", c1)
	if _, err := p.Handle(t.Context(), d1); err != nil {
		t.Fatal(err)
	}
	c2 := e.commit(t, "DEMO", "api", "main", files("two\n"))
	if _, err := p.Handle(t.Context(), d1); err != nil { // the first webhook again, late
		t.Fatalf("redelivery: %v", err)
	}
	if _, err := p.Handle(t.Context(), push(t, "DEMO", "api", "main", c2)); err != nil {
		t.Fatal(err)
	}

	versions, err := store.Versions(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := db.History(t.Context(), pipeline.Query{Project: "DEMO", Repo: "api"})
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]int{}
	for _, r := range hist {
		if r.Outcome == pipeline.OutcomeArchived {
			recorded[r.Version]++
		}
	}
	for _, v := range versions {
		if recorded[v.Version] != 1 {
			t.Errorf("version %s has %d archived records, want 1 (ledger %+v)", v.Version, recorded[v.Version], hist)
		}
	}
	head, err := store.Head(t.Context(), key)
	if err != nil || head.Meta.Commit != c2 || len(versions) != 2 {
		t.Fatalf("head %+v (err %v), %d versions; want two versions, the current one of %s", head, err,
			len(versions), c2)
	}
}
