package localdb_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/localdb"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

var base = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func openDB(t *testing.T, path string) *localdb.DB {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "state", "backlog-webhook.db")
	}
	db, err := localdb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func deliveries(recs []pipeline.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Delivery
	}
	return out
}

func TestRecordDuplicates(t *testing.T) {
	type step struct {
		delivery, key string
		outcome       pipeline.Outcome
		dup           bool // Record must fail with ErrDuplicate
	}
	tests := []struct {
		name  string
		steps []step
		want  []pipeline.Outcome // History of delivery d, newest first
	}{
		{
			name:  "same delivery and key twice",
			steps: []step{{"d", "k", pipeline.OutcomeArchived, false}, {"d", "k", pipeline.OutcomeArchived, true}},
			want:  []pipeline.Outcome{pipeline.OutcomeArchived},
		},
		{
			name: "failed is replaced, then kept",
			steps: []step{
				{"d", "k", pipeline.OutcomeFailed, false},
				{"d", "k", pipeline.OutcomeArchived, false},
				{"d", "k", pipeline.OutcomeUnchanged, true},
			},
			want: []pipeline.Outcome{pipeline.OutcomeArchived},
		},
		{
			name:  "failed replaced by failed",
			steps: []step{{"d", "k", pipeline.OutcomeFailed, false}, {"d", "k", pipeline.OutcomeFailed, false}},
			want:  []pipeline.Outcome{pipeline.OutcomeFailed},
		},
		{
			name:  "unchanged is not replaced by failed",
			steps: []step{{"d", "k", pipeline.OutcomeUnchanged, false}, {"d", "k", pipeline.OutcomeFailed, true}},
			want:  []pipeline.Outcome{pipeline.OutcomeUnchanged},
		},
		{
			name:  "other keys of one delivery",
			steps: []step{{"d", "k1", pipeline.OutcomeArchived, false}, {"d", "k2", pipeline.OutcomeUnchanged, false}},
			want:  []pipeline.Outcome{pipeline.OutcomeUnchanged, pipeline.OutcomeArchived},
		},
		{
			name:  "empty key identifies too",
			steps: []step{{"d", "", pipeline.OutcomeIgnored, false}, {"d", "", pipeline.OutcomeIgnored, true}},
			want:  []pipeline.Outcome{pipeline.OutcomeIgnored},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openDB(t, "")
			for i, s := range tt.steps {
				rec := pipeline.Record{
					Delivery: s.delivery, Key: s.key, Outcome: s.outcome, Project: "DEMO", Repo: "api",
					Commit: "c", Reason: fmt.Sprint("step ", i), Time: base.Add(time.Duration(i) * time.Second),
				}
				err := db.Record(t.Context(), rec)
				if s.dup != errors.Is(err, pipeline.ErrDuplicate) || (!s.dup && err != nil) {
					t.Fatalf("step %d: Record = %v, want duplicate=%v", i, err, s.dup)
				}
			}

			for _, q := range []pipeline.Query{{}, {Project: "DEMO", Repo: "api"}, {Commit: "c"}} {
				got, err := db.History(t.Context(), q)
				if err != nil {
					t.Fatal(err)
				}
				var outcomes []pipeline.Outcome
				for _, r := range got {
					outcomes = append(outcomes, r.Outcome)
				}
				if !slices.Equal(outcomes, tt.want) {
					t.Fatalf("History(%+v) outcomes = %v, want %v", q, outcomes, tt.want)
				}
			}
		})
	}
}

func TestRecordRefuses(t *testing.T) {
	db := openDB(t, "")
	tests := []struct {
		name string
		rec  pipeline.Record
	}{
		{name: "no delivery", rec: pipeline.Record{Key: "k", Outcome: pipeline.OutcomeArchived}},
		{name: "NUL in project", rec: pipeline.Record{Delivery: "d", Project: "A\x00B"}},
		{name: "NUL in key", rec: pipeline.Record{Delivery: "d", Key: "k\x00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := db.Record(t.Context(), tt.rec); !errors.Is(err, localdb.ErrInvalid) {
				t.Fatalf("Record = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestHistory(t *testing.T) {
	db := openDB(t, "")
	at := func(d, project, repo, branch, commit string, sec int) pipeline.Record {
		return pipeline.Record{
			Delivery: d, Project: project, Repo: repo, Branch: branch, Commit: commit,
			Key: project + "/" + repo + "/" + branch + ".zip", Outcome: pipeline.OutcomeArchived,
			Time: base.Add(time.Duration(sec) * time.Second),
		}
	}
	// Inserted out of time order; d7 shares d5's time and is recorded after it.
	for _, r := range []pipeline.Record{
		at("d3", "DEMO", "web", "main", "c3", 3),
		at("d1", "DEMO", "api", "main", "c1", 1),
		at("d5", "DEMO", "api", "main", "c5", 5),
		at("d7", "DEMO", "api", "main", "c5", 5),
		at("d2", "DEMO", "api", "dev", "c2", 2),
		at("d6", "", "", "", "", 6),
		at("d4", "OTHER", "api", "main", "c1", 4),
	} {
		if err := db.Record(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name string
		q    pipeline.Query
		want []string
	}{
		{name: "everything", q: pipeline.Query{}, want: []string{"d6", "d7", "d5", "d4", "d3", "d2", "d1"}},
		{name: "limit", q: pipeline.Query{Limit: 2}, want: []string{"d6", "d7"}},
		{name: "project", q: pipeline.Query{Project: "DEMO"}, want: []string{"d7", "d5", "d3", "d2", "d1"}},
		{name: "project prefix is not a match", q: pipeline.Query{Project: "DEM"}, want: []string{}},
		{name: "repo", q: pipeline.Query{Project: "DEMO", Repo: "api"}, want: []string{"d7", "d5", "d2", "d1"}},
		{name: "branch", q: pipeline.Query{Project: "DEMO", Repo: "api", Branch: "main"}, want: []string{"d7", "d5", "d1"}},
		{
			name: "branch limit",
			q:    pipeline.Query{Project: "DEMO", Repo: "api", Branch: "main", Limit: 1},
			want: []string{"d7"},
		},
		{name: "branch in any project", q: pipeline.Query{Branch: "main"}, want: []string{"d7", "d5", "d4", "d3", "d1"}},
		{name: "repo name in any project", q: pipeline.Query{Repo: "api"}, want: []string{"d7", "d5", "d4", "d2", "d1"}},
		{name: "commit", q: pipeline.Query{Commit: "c1"}, want: []string{"d4", "d1"}},
		{name: "commit in project", q: pipeline.Query{Commit: "c1", Project: "DEMO"}, want: []string{"d1"}},
		{name: "last commit in the index", q: pipeline.Query{Commit: "c5"}, want: []string{"d7", "d5"}},
		{name: "last project in the index", q: pipeline.Query{Project: "OTHER"}, want: []string{"d4"}},
		{name: "unknown commit", q: pipeline.Query{Commit: "c9"}, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.History(t.Context(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if d := deliveries(got); !slices.Equal(d, tt.want) {
				t.Fatalf("History(%+v) = %v, want %v", tt.q, d, tt.want)
			}
		})
	}
}

func TestConcurrentRecord(t *testing.T) {
	db := openDB(t, "")
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			errs <- db.Record(t.Context(), pipeline.Record{Delivery: "same", Key: "k", Outcome: pipeline.OutcomeArchived})
		})
		wg.Go(func() {
			rec := pipeline.Record{Delivery: fmt.Sprint("d", i), Project: "DEMO", Outcome: pipeline.OutcomeArchived}
			errs <- db.Record(t.Context(), rec)
		})
	}
	wg.Wait()
	close(errs)

	var ok, dup int
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, pipeline.ErrDuplicate):
			dup++
		default:
			t.Fatal(err)
		}
	}
	if ok != n+1 || dup != n-1 {
		t.Fatalf("%d recorded, %d duplicates; want %d and %d", ok, dup, n+1, n-1)
	}
	got, err := db.History(t.Context(), pipeline.Query{Project: "DEMO"})
	if err != nil || len(got) != n {
		t.Fatalf("History = %d records, %v; want %d", len(got), err, n)
	}
}

// BenchmarkHistoryCommit looks one commit up among many records; the commit index keeps
// the cost independent of the ledger's size.
func BenchmarkHistoryCommit(b *testing.B) {
	db, err := localdb.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const n = 5000
	for i := range n {
		rec := pipeline.Record{
			Delivery: fmt.Sprint("d", i), Project: "DEMO", Repo: fmt.Sprint("r", i%20), Branch: "main",
			Commit: fmt.Sprintf("%040x", i), Outcome: pipeline.OutcomeArchived, Time: base.Add(time.Duration(i)),
		}
		if err := db.Record(b.Context(), rec); err != nil {
			b.Fatal(err)
		}
	}
	q := pipeline.Query{Commit: fmt.Sprintf("%040x", n/2)}
	for b.Loop() {
		if got, err := db.History(b.Context(), q); err != nil || len(got) != 1 {
			b.Fatalf("History = %d records, %v", len(got), err)
		}
	}
}
