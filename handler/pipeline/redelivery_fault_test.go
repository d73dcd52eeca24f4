package pipeline_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/backlog-webhook/backlog-webhook/handler/internal/localenv"
	"github.com/backlog-webhook/backlog-webhook/handler/layout"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/rules"
)

// A webhook delivered again after it was processed, when the branch has moved on since,
// must not store a version that no ledger record points at.
func TestRedeliveryAfterTheBranchMovedStoresNoUnrecordedVersion(t *testing.T) {
	e := localenv.New(t, nil)
	store, db := e.Store, e.DB
	p := pipeline.New(pipeline.Config{GitServer: e.Git.ServerURL("git"), Rules: rules.Default()}, store, db,
		e.Keys(nil), nil)
	key := layout.Key("DEMO", "api", "main")

	c1 := e.Commit(t, "DEMO", "api", "main", files("one\n"))
	d1 := push(t, "DEMO", "api", "main", c1)
	if _, err := p.Handle(t.Context(), d1); err != nil {
		t.Fatal(err)
	}
	c2 := e.Commit(t, "DEMO", "api", "main", files("two\n"))
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

// failNth fails the nth Record call only, as a ledger that is briefly unreachable.
type failNth struct {
	pipeline.Ledger
	n, calls int
}

func (l *failNth) Record(ctx context.Context, r pipeline.Record) error {
	l.calls++
	if l.calls == l.n {
		return errors.New("ledger unavailable")
	}
	return l.Ledger.Record(ctx, r)
}

// A local server killed after the store published a version but before it moved the key's
// current pointer must not end with two versions of one tree once the delivery is redone.
func TestCrashBeforeCurrentMovedStoresNoSecondCopy(t *testing.T) {
	e := localenv.New(t, nil)
	dir, store, db := e.StoreDir, e.Store, e.DB
	cfg := pipeline.Config{GitServer: e.Git.ServerURL("git"), Rules: rules.Default()}
	key := layout.Key("DEMO", "api", "main")
	c1 := e.Commit(t, "DEMO", "api", "main", files("one\n"))
	p := pipeline.New(cfg, store, db, e.Keys(nil), nil)
	if _, err := p.Handle(t.Context(), push(t, "DEMO", "api", "main", c1)); err != nil {
		t.Fatal(err)
	}
	first, err := store.Head(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}

	// The second push uploads, then "crashes": its record is never written and @current
	// still names the first version.
	c2 := e.Commit(t, "DEMO", "api", "main", files("two\n"))
	d2 := push(t, "DEMO", "api", "main", c2)
	crashing := pipeline.New(cfg, store, &failNth{Ledger: db, n: 2}, e.Keys(nil), nil) // the claim passes, the record fails
	if _, err := crashing.Handle(t.Context(), d2); err == nil {
		t.Fatal("want the failed record to fail the delivery")
	}
	// The store's documented layout: objects/<key>/@current holds the id of the current version.
	writeFile(t, filepath.Join(dir, "objects", "DEMO", "api", "main.zip", "@current"), []byte(first.Version))
	if head, err := store.Head(t.Context(), key); err != nil || head.Version != first.Version {
		t.Fatalf("after the simulated crash the current version is %+v (err %v), want %s", head, err, first.Version)
	}

	if _, err := p.Handle(t.Context(), d2); err != nil {
		t.Fatalf("redelivery after the crash: %v", err)
	}
	versions, err := store.Versions(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	trees := map[string]bool{}
	for _, v := range versions {
		rc, obj, err := store.Open(t.Context(), key, v.Version)
		if err != nil {
			t.Fatal(err)
		}
		_ = rc.Close()
		if trees[obj.Meta.Tree] {
			t.Fatalf("tree %s stored twice: %+v", obj.Meta.Tree, versions)
		}
		trees[obj.Meta.Tree] = true
	}
	if len(versions) != 2 {
		t.Fatalf("%d versions, want 2", len(versions))
	}
}
