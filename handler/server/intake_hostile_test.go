package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/localdb"
	"github.com/backlog-webhook/backlog-webhook/handler/server"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

const hostileToken = "intake-token-7f3c9a"

// client bounds every request of these tests in time.
var client = &http.Client{Timeout: time.Minute}

// maxReason bounds the error text of a refusal: it must never echo a large body back.
const maxReason = 512

// answer is the JSON reply of the intake, as a sender sees it.
type answer struct {
	Delivery  string `json:"delivery"`
	Queued    bool   `json:"queued"`
	Duplicate bool   `json:"duplicate"`
	Kind      string `json:"kind"`
	Error     string `json:"error"`
}

// seen records what the worker was given, to prove nothing bad got through the intake.
type seen struct {
	mu     sync.Mutex
	events []webhook.Event
	ids    map[string]int // delivery id → times processed
	bad    []string
}

func (s *seen) process(_ context.Context, d webhook.Delivery) error {
	ev, err := webhook.Parse(d.ContentType, d.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.bad = append(s.bad, err.Error())
		return nil
	}
	s.events = append(s.events, ev)
	if s.ids == nil {
		s.ids = map[string]int{}
	}
	s.ids[d.ID]++
	return nil
}

func (s *seen) snapshot() ([]webhook.Event, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]webhook.Event(nil), s.events...), append([]string(nil), s.bad...)
}

// intakeServer is the intake and worker over a bbolt queue behind a real HTTP server on loopback.
type intakeServer struct {
	url    string // base URL, http://127.0.0.1:PORT
	db     *localdb.DB
	worker *server.Worker
	seen   *seen
}

func startIntake(t *testing.T) *intakeServer {
	t.Helper()
	db, err := localdb.Open(filepath.Join(t.TempDir(), "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })

	s := &intakeServer{db: db, seen: &seen{}}
	s.worker = server.NewWorker(db, s.seen.process, server.WorkerConfig{Workers: 4}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           server.NewIntake(hostileToken, db, s.worker.Add, nil),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	ctx, cancel := context.WithCancel(context.Background())
	served, ran := make(chan error, 1), make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	go func() { ran <- s.worker.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		_ = srv.Close()
		<-served
		if err := <-ran; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	s.url = "http://" + ln.Addr().String()
	return s
}

// send posts body to path and returns the status and the decoded answer.
func (s *intakeServer) send(t *testing.T, method, path string, hdr http.Header, body io.Reader) (int, answer) {
	t.Helper()
	status, a, err := s.trySend(method, path, hdr, body)
	if err != nil {
		t.Fatal(err)
	}
	return status, a
}

// trySend is send for any goroutine: it returns what went wrong instead of failing the test.
func (s *intakeServer) trySend(method, path string, hdr http.Header, body io.Reader) (int, answer, error) {
	var a answer
	req, err := http.NewRequest(method, s.url+path, body)
	if err != nil {
		return 0, a, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, a, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, a, err
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		if err := json.Unmarshal(raw, &a); err != nil {
			return 0, a, fmt.Errorf("%s %s answered %d with non-JSON %q", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, a, nil
}

// idle waits until the worker has processed everything queued.
func (s *intakeServer) idle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.worker.WaitIdle(ctx); err != nil {
		t.Fatalf("worker never idle: %v", err)
	}
}

// projectPush is a project webhook (type 12) body; fields override content values.
func projectPush(project, repo, ref string, n int) []byte {
	body, _ := json.Marshal(map[string]any{
		"id": n, "type": 12, "project": map[string]any{"projectKey": project},
		"content": map[string]any{"change_type": "update", "ref": ref, "revision_type": "commit",
			"repository": map[string]any{"name": repo}, "revision_count": 1,
			"revisions": []map[string]any{{"rev": fmt.Sprintf("%040x", n+1), "comment": "change"}}},
		"createdUser": map[string]any{"name": "Taro"}, "created": "2026-11-30T09:15:00Z",
	})
	return body
}

// repositoryForm is a repository webhook (form) body naming repoURL.
func repositoryForm(repoURL, name string) []byte {
	js, _ := json.Marshal(map[string]any{
		"before": strings.Repeat("a", 40), "after": strings.Repeat("b", 40), "ref": "refs/heads/main",
		"repository": map[string]any{"url": repoURL, "name": name},
	})
	return []byte("payload=" + url.QueryEscape(string(js)))
}

var (
	jsonHdr = http.Header{"Content-Type": {"application/json"}}
	formHdr = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
)

// chunked hides the length of r so the client sends it chunked.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestIntakeHostileRequestsAreRefusedAndServerStaysUp(t *testing.T) {
	s := startIntake(t)
	hook := server.PathPrefix + hostileToken
	good := projectPush("DEMO", "api", "refs/heads/main", 1)
	huge := append([]byte(`{"type":12,"pad":"`), bytes.Repeat([]byte("A"), 2<<20)...)
	deep := append(bytes.Repeat([]byte("["), 200_000), bytes.Repeat([]byte("]"), 200_000)...)
	long := strings.Repeat("r", 10_000)

	tests := []struct {
		name, method, path string
		hdr                http.Header
		body               []byte
		stream             bool // send the body chunked, without a length
		status             int
		reason             string
	}{
		{"wrong token", "POST", server.PathPrefix + "guess", jsonHdr, good, false, 403, "token"},
		{"token prefix", "POST", hook[:len(hook)-1], jsonHdr, good, false, 403, "token"},
		{"token suffix", "POST", hook + "0", jsonHdr, good, false, 403, "token"},
		{"token dot segments", "POST", server.PathPrefix + "../" + hostileToken, jsonHdr, good, false, 404, "not found"},
		{"token then slash", "POST", hook + "/", jsonHdr, good, false, 404, "not found"},
		{"escaped slash", "POST", hook + "%2Fx", jsonHdr, good, false, 404, "not found"},
		{"no prefix", "POST", "/" + hostileToken, jsonHdr, good, false, 404, "not found"},
		{"get", "GET", hook, nil, nil, false, 405, "post"},
		{"huge body", "POST", hook, jsonHdr, huge, false, 413, "too large"},
		{"huge chunked body", "POST", hook, jsonHdr, huge, true, 413, "too large"},
		{"empty body", "POST", hook, jsonHdr, nil, false, 400, "malformed"},
		{"invalid json", "POST", hook, jsonHdr, []byte(`{"type":12,`), false, 400, "malformed"},
		{"trailing garbage", "POST", hook, jsonHdr, append(bytes.Clone(good), "}{"...), false, 400, "malformed"},
		{"deeply nested json", "POST", hook, jsonHdr, deep, false, 400, ""},
		{"type as string", "POST", hook, jsonHdr, []byte(`{"type":"12","project":{"projectKey":"DEMO"}}`),
			false, 400, ""},
		{"invalid utf-8", "POST", hook, jsonHdr, append(bytes.Clone(good[:len(good)-1]), ",\"x\":\"\xff\xfe\"}"...),
			false, 400, "utf-8"},
		{"invalid utf-8 in form", "POST", hook, formHdr, []byte("payload=%7B%22ref%22%3A%22%FF%22%7D"), false, 400, ""},
		{"form without payload", "POST", hook, formHdr, []byte("x=1"), false, 400, "payload"},
		{"project with dots", "POST", hook, jsonHdr, projectPush("..", "api", "refs/heads/main", 2), false, 400,
			"project"},
		{"project with slash", "POST", hook, jsonHdr, projectPush("DEMO/X", "api", "refs/heads/main", 2), false,
			400, "project"},
		{"repo traversal", "POST", hook, jsonHdr, projectPush("DEMO", "../../etc", "refs/heads/main", 2), false,
			400, "repository"},
		{"repo dot dot", "POST", hook, jsonHdr, projectPush("DEMO", "..", "refs/heads/main", 2), false, 400,
			"repository"},
		{"repo with slash", "POST", hook, jsonHdr, projectPush("DEMO", "a/b", "refs/heads/main", 2), false, 400,
			"repository"},
		{"repo with nul", "POST", hook, jsonHdr, projectPush("DEMO", "api\x00x", "refs/heads/main", 2), false, 400,
			"repository"},
		{"repo with newline", "POST", hook, jsonHdr, projectPush("DEMO", "api\nx", "refs/heads/main", 2), false, 400,
			"repository"},
		{"very long repo", "POST", hook, jsonHdr, projectPush("DEMO", long, "refs/heads/main", 2), false, 400,
			"repository"},
		{"branch traversal", "POST", hook, jsonHdr, projectPush("DEMO", "api", "refs/heads/../../x", 2), false, 400,
			"ref"},
		{"branch with nul", "POST", hook, jsonHdr, projectPush("DEMO", "api", "refs/heads/ma\x00in", 2), false, 400,
			"ref"},
		{"branch with newline", "POST", hook, jsonHdr, projectPush("DEMO", "api", "refs/heads/ma\nin", 2), false,
			400, "ref"},
		{"branch absolute", "POST", hook, jsonHdr, projectPush("DEMO", "api", "refs/heads//etc", 2), false, 400,
			"ref"},
		{"very long branch", "POST", hook, jsonHdr, projectPush("DEMO", "api", "refs/heads/"+long, 2), false, 400,
			"ref"},
		{"ref outside heads", "POST", hook, jsonHdr, projectPush("DEMO", "api", "HEAD", 2), false, 400, "ref"},
		{"form url traversal", "POST", hook, formHdr,
			repositoryForm("https://demo.backlog.com/git/DEMO/../../etc/api", ""), false, 400, "repository"},
		{"form url other scheme", "POST", hook, formHdr, repositoryForm("file:///etc/passwd", ""), false, 400,
			"repository"},
		{"form name disagrees with url", "POST", hook, formHdr,
			repositoryForm("https://demo.backlog.com/git/DEMO/api", "../api"), false, 400, "repository"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(tc.body)
			if tc.stream {
				body = chunked{bytes.NewReader(tc.body)}
			}
			status, a := s.send(t, tc.method, tc.path, tc.hdr, body)
			if status != tc.status {
				t.Fatalf("status %d (%q), want %d", status, a.Error, tc.status)
			}
			if a.Error == "" || !strings.Contains(strings.ToLower(a.Error), tc.reason) || a.Queued {
				t.Fatalf("answer %+v, want a refusal whose reason mentions %q", a, tc.reason)
			}
			if len(a.Error) > maxReason {
				t.Fatalf("reason is %d bytes; a refusal must not echo the body", len(a.Error))
			}
		})
	}

	oversized := http.Header{"Content-Type": {"application/json"}, "X-Pad": {strings.Repeat("h", 128<<10)}}
	if status, _ := s.send(t, "POST", hook, oversized, bytes.NewReader(good)); status != 431 {
		t.Errorf("oversized headers: status %d, want 431", status)
	}

	// The server is still up and a good webhook goes through, exactly once.
	status, a := s.send(t, "POST", hook, jsonHdr, bytes.NewReader(good))
	if status != http.StatusAccepted || !a.Queued || a.Kind != "push" {
		t.Fatalf("good webhook after the attack: %d %+v", status, a)
	}
	s.idle(t)
	events, bad := s.seen.snapshot()
	if len(bad) != 0 || len(events) != 1 || events[0].FullName() != "DEMO/api" {
		t.Fatalf("worker saw %d events %+v and %d unreadable bodies %v; want only the good push", len(events),
			events, len(bad), bad)
	}
}

func TestIntakeAcknowledgesAndIgnoresOtherEvents(t *testing.T) {
	s := startIntake(t)
	hook := server.PathPrefix + hostileToken
	tests := []struct {
		name string
		body string
	}{
		{"unknown type", `{"type":999,"project":{"projectKey":"DEMO"},"content":{}}`},
		{"pull request", `{"type":18,"project":{"projectKey":"DEMO"},"content":{"repository":{"name":"api"}}}`},
		{"repository created", `{"type":13,"project":{"projectKey":"DEMO"},"content":{"repository":{"name":"api"}}}`},
		{"tag", string(projectPush("DEMO", "api", "refs/tags/v1.0", 3))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, a := s.send(t, "POST", hook, jsonHdr, strings.NewReader(tc.body))
			if status != http.StatusAccepted || a.Error != "" {
				t.Fatalf("got %d %+v, want 202: acknowledged so Backlog does not see an error", status, a)
			}
			if a.Kind == string(webhook.KindPush) || a.Kind == string(webhook.KindDelete) {
				t.Fatalf("kind %q: an event that archives nothing was taken for a branch change", a.Kind)
			}
		})
	}
	s.idle(t)
	events, bad := s.seen.snapshot()
	if len(bad) != 0 || len(events) != len(tests) {
		t.Fatalf("worker saw %d events and %d unreadable bodies, want %d events", len(events), len(bad), len(tests))
	}
	for _, ev := range events {
		if ev.Kind == webhook.KindPush || ev.Reason == "" {
			t.Errorf("event %+v reached the worker as something to archive or without a reason", ev)
		}
	}
}

func TestIntakeFloodOfConcurrentRequests(t *testing.T) {
	s := startIntake(t)
	hook := server.PathPrefix + hostileToken
	const (
		senders = 32 // at most this many requests in flight
		repos   = 8
		pushes  = 120 // distinct good webhooks
		copies  = 2   // each good webhook is sent this many times
		junk    = 120 // refused requests mixed in
	)
	type job struct {
		path string
		body []byte
		good bool
	}
	var jobs []job
	for i := range pushes {
		b := projectPush("FLOOD", fmt.Sprintf("repo%d", i%repos), "refs/heads/main", 1000+i)
		for range copies {
			jobs = append(jobs, job{hook, b, true})
		}
	}
	for i := range junk {
		switch i % 3 {
		case 0:
			jobs = append(jobs, job{server.PathPrefix + fmt.Sprint("bad", i),
				projectPush("FLOOD", "x", "refs/heads/main", i), false})
		case 1:
			jobs = append(jobs, job{hook, []byte(fmt.Sprintf(`{"type":12,"n":%d`, i)), false})
		default:
			jobs = append(jobs, job{hook, projectPush("FLOOD", "../x", "refs/heads/main", i), false})
		}
	}

	work := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := map[string]int{}
	var wrong []string
	for range senders {
		wg.Go(func() {
			for j := range work {
				status, a, err := s.trySend("POST", j.path, jsonHdr, bytes.NewReader(j.body))
				mu.Lock()
				switch {
				case err != nil:
					wrong = append(wrong, err.Error())
				case j.good && status == http.StatusAccepted:
					accepted[a.Delivery]++
				case !j.good && status >= 400 && status < 500:
				default:
					wrong = append(wrong, fmt.Sprintf("good=%v got %d %q", j.good, status, a.Error))
				}
				mu.Unlock()
			}
		})
	}
	for i := range jobs { // interleave: good and bad alternate through the slice
		work <- jobs[(i*7919)%len(jobs)]
	}
	close(work)
	wg.Wait()

	if len(wrong) != 0 {
		t.Fatalf("%d unexpected answers, first: %s", len(wrong), wrong[0])
	}
	if len(accepted) != pushes {
		t.Fatalf("%d distinct deliveries acknowledged, want %d", len(accepted), pushes)
	}
	s.idle(t)
	_, bad := s.seen.snapshot()
	s.seen.mu.Lock()
	ids := maps.Clone(s.seen.ids)
	s.seen.mu.Unlock()
	// A copy that arrives after the first was processed is queued again (the queue de-duplicates
	// only what is still queued); the pipeline's ledger makes that second run harmless.
	if len(bad) != 0 || len(ids) != pushes {
		t.Fatalf("worker processed %d distinct deliveries (%d unreadable), want the %d pushes", len(ids), len(bad),
			pushes)
	}
	for id, n := range ids {
		if accepted[id] == 0 || n > copies {
			t.Fatalf("delivery %.12s processed %d times, acknowledged %d times", id, n, accepted[id])
		}
	}
	if p, err := s.db.Pending(); err != nil || len(p) != 0 {
		t.Fatalf("%d still queued (err %v)", len(p), err)
	}
	if status, a := s.send(t, "POST", hook, jsonHdr, bytes.NewReader(projectPush("FLOOD", "after", "refs/heads/main",
		1))); status != http.StatusAccepted || !a.Queued {
		t.Fatalf("good webhook after the flood: %d %+v", status, a)
	}
}
