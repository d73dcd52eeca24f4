package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
	"github.com/backlog-webhook/backlog-webhook/handler/internal/localenv"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/rules"
	"github.com/backlog-webhook/backlog-webhook/handler/server"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

// flow is the whole local mode in one process: an SSH Git server on loopback, key
// files, the local store and ledger, and the pipeline over them.
type flow struct {
	*localenv.Env
	pipe *pipeline.Pipeline
	log  *slog.Logger
}

// newFlow builds a flow whose components all log to log (nil discards).
func newFlow(t *testing.T, log *slog.Logger) *flow {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &flow{Env: localenv.New(t, log), log: log}
	f.pipe = f.pipelineFor(f.Git.ServerURL("git"))
	return f
}

// pipelineFor returns a pipeline over the flow's adapters and keys that clones from gitServer.
func (f *flow) pipelineFor(gitServer string) *pipeline.Pipeline {
	return pipeline.New(pipeline.Config{GitServer: gitServer, Rules: rules.Default()}, f.Store, f.DB,
		f.Keys(f.log), f.log)
}

// commit makes a tree whose README says text the new tip of main in PROJECT/repo.
func (f *flow) commit(t *testing.T, project, repo, text string) string {
	t.Helper()
	return f.Commit(t, project, repo, "main",
		[]gitserver.File{{Path: "README.md", Data: []byte(text)}, {Path: "src/main.go", Data: []byte("package main\n")}})
}

// handle is a ProcessFunc running the flow's pipeline.
func (f *flow) handle(ctx context.Context, d webhook.Delivery) error {
	_, err := f.pipe.Handle(ctx, d)
	return err
}

// serve runs process behind an Intake with token on a real HTTP server on loopback and
// returns the webhook URL and the running Worker. Both stop when the test ends.
func serve(t *testing.T, f *flow, token string, process server.ProcessFunc, cfg server.WorkerConfig) (string,
	*server.Worker) {
	t.Helper()
	w := server.NewWorker(f.DB, process, cfg, f.log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: server.NewIntake(token, f.DB, w.Add, f.log), ReadHeaderTimeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	served, ran := make(chan error, 1), make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	go func() { ran <- w.Run(ctx) }()
	t.Cleanup(func() {
		_ = srv.Close()
		<-served
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	return "http://" + ln.Addr().String() + server.PathPrefix + token, w
}

// waitIdle waits until w has nothing queued or running.
func waitIdle(t *testing.T, w *server.Worker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := w.WaitIdle(ctx); err != nil {
		t.Fatalf("worker never became idle: %v", err)
	}
}

// pushBody is a project webhook announcing commit on main of PROJECT/repo.
func pushBody(project, repo, commit string) []byte {
	body, _ := json.Marshal(map[string]any{
		"id": 1, "type": 12, "project": map[string]any{"projectKey": project},
		"content": map[string]any{"change_type": "update", "ref": "refs/heads/main", "revision_type": "commit",
			"repository": map[string]any{"name": repo}, "revision_count": 1,
			"revisions": []map[string]any{{"rev": commit, "comment": "change"}}},
		"createdUser": map[string]any{"name": "Taro"}, "created": "2026-11-30T09:15:00Z",
	})
	return body
}

// postJSON posts body to url and returns the status and the raw answer.
func postJSON(t *testing.T, url string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, buf.Bytes()
}

// accept posts body and fails the test unless the intake acknowledged it; it returns the delivery id.
func accept(t *testing.T, url string, body []byte) string {
	t.Helper()
	id, err := tryAccept(url, body)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// tryAccept posts body and returns the delivery id the intake acknowledged, or why it did not.
// Unlike accept it may run on any goroutine.
func tryAccept(url string, body []byte) (string, error) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != http.StatusAccepted ||
		a.Delivery == "" {
		return "", fmt.Errorf("webhook not acknowledged: %d %+v (%v)", resp.StatusCode, a, err)
	}
	return a.Delivery, nil
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
