package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backlog-webhook/backlog-webhook/handler/localdb"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

const testToken = "s3cret-token"

func openDB(t *testing.T, path string) *localdb.DB {
	t.Helper()
	db, err := localdb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(t *testing.T, h http.Handler, path, ctype string, body []byte) (int, reply) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var r reply
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("answer is not JSON: %q", rec.Body.String())
	}
	return rec.Code, r
}

func TestIntakeRefusesBadRequests(t *testing.T) {
	push := sample(t, "project-webhook-push.json")
	huge := append([]byte(`{"type":12,"pad":"`), bytes.Repeat([]byte("a"), webhook.MaxBodyBytes)...)
	bad := strings.Replace(string(push), `"api-server"`, `"../../etc"`, 1)
	tests := []struct {
		name, path, ctype string
		body              []byte
		status            int
		reason            string
	}{
		{"wrong token", "/backlog-webhook/nope", "application/json", push, 403, "wrong webhook token"},
		{"no token", "/backlog-webhook/", "application/json", push, 404, "not found"},
		{"other path", "/hook", "application/json", push, 404, "not found"},
		{"token with slash", "/backlog-webhook/" + testToken + "/x", "application/json", push, 404, "not found"},
		{"invalid json", "/backlog-webhook/" + testToken, "application/json", []byte(`{"type":`), 400, "malformed"},
		{"traversal in repository", "/backlog-webhook/" + testToken, "application/json", []byte(bad), 400, "repo"},
		{"form without payload", "/backlog-webhook/" + testToken, "application/x-www-form-urlencoded",
			[]byte("x=1"), 400, "payload"},
		{"too large", "/backlog-webhook/" + testToken, "application/json", huge, 413, "too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t, filepath.Join(t.TempDir(), "q.db"))
			in := NewIntake(testToken, db, nil, nil)
			status, r := post(t, in, tc.path, tc.ctype, tc.body)
			if status != tc.status || !strings.Contains(strings.ToLower(r.Error), tc.reason) {
				t.Fatalf("got %d %q, want %d with %q", status, r.Error, tc.status, tc.reason)
			}
			if p, err := db.Pending(); err != nil || len(p) != 0 {
				t.Fatalf("queued %d messages (err %v), want none", len(p), err)
			}
		})
	}
}

func TestIntakeQueuesBothKindsOnce(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "q.db"))
	var notified []localdb.Message
	in := NewIntake(testToken, db, func(m localdb.Message) { notified = append(notified, m) }, nil)
	path := "/backlog-webhook/" + testToken

	form := sample(t, "repository-webhook-push.form")
	for i := 0; i < 2; i++ {
		status, r := post(t, in, path, "application/json; charset=utf-8", sample(t, "project-webhook-push.json"))
		if status != 202 || r.Queued == (i == 1) || r.Duplicate != (i == 1) {
			t.Fatalf("project webhook #%d: %d %+v", i, status, r)
		}
		status, r = post(t, in, path, "application/x-www-form-urlencoded", form)
		if status != 202 || r.Duplicate != (i == 1) {
			t.Fatalf("repository webhook #%d: %d %+v", i, status, r)
		}
	}

	pending, err := db.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 2 || len(notified) != 2 {
		t.Fatalf("pending %d, notified %d; want 2 and 2", len(pending), len(notified))
	}
	for _, m := range pending {
		if m.Group != "DEMO/api-server" {
			t.Errorf("group %q, want DEMO/api-server", m.Group)
		}
	}
	if string(pending[1].Delivery.Body) != string(form) {
		t.Errorf("the queued body differs from the one received")
	}
	if _, err := url.ParseQuery(string(pending[1].Delivery.Body)); err != nil {
		t.Errorf("queued form body: %v", err)
	}
}
