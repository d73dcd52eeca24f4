package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/localstore"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

func TestAdminAnswers(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "q.db"))
	store, err := localstore.Open(filepath.Join(dir, "archives"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	ctx := context.Background()
	if _, err := store.Put(ctx, "P/r/main.zip", strings.NewReader("zip bytes"), pipeline.Meta{Tree: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Record(ctx, pipeline.Record{Delivery: "d1", Project: "P", Repo: "r", Branch: "main",
		Event: "push", Outcome: pipeline.OutcomeArchived, Key: "P/r/main.zip", Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	m := enqueue(t, db, "P/r", "hopeless")
	if dead, err := db.Fail(m.Seq, context.Canceled, 1); err != nil || !dead {
		t.Fatalf("Fail: %v %v", dead, err)
	}
	requeued := 0
	srv := httptest.NewServer(NewAdmin(db, store, func() { requeued++ }, nil))
	t.Cleanup(srv.Close)

	tests := []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"records", "GET", "/records?repo=r&project=P", 200, `"delivery":"d1"`},
		{"archive", "GET", "/archive?key=P/r/main.zip", 200, "zip bytes"},
		{"missing archive", "GET", "/archive?key=P/r/none.zip", 404, "not found"},
		{"dead letters", "GET", "/dead", 200, `"group":"P/r"`},
		{"redrive needs a number", "POST", "/redrive?seq=x", 400, "sequence number"},
		{"redrive", "POST", "/redrive?seq=1", 200, "{}"},
		{"unknown path", "GET", "/nothing", 404, "not found"},
		{"no writes but redrive", "POST", "/records", 404, "not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.body) {
				t.Fatalf("%s %s: %d %q, want %d with %q", tc.method, tc.path, resp.StatusCode, b, tc.status, tc.body)
			}
		})
	}
	if requeued != 1 {
		t.Errorf("the worker was told of %d redrives, want 1", requeued)
	}
	if pending, _ := db.Pending(); len(pending) != 1 || string(pending[0].Delivery.Body) != "hopeless" {
		t.Errorf("after redrive the queue holds %v", pending)
	}
}
