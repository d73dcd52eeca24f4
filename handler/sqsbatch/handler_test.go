package sqsbatch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

var errBoom = errors.New("boom")

// recorder is a Process function that remembers which bodies it saw and fails on demand.
type recorder struct {
	mu   sync.Mutex
	seen []string
	fail map[string]error // body -> error to return
	hook func(ctx context.Context, body string) error
}

func (r *recorder) process(ctx context.Context, d webhook.Delivery) error {
	r.mu.Lock()
	r.seen = append(r.seen, string(d.Body))
	r.mu.Unlock()

	if r.hook != nil {
		if err := r.hook(ctx, string(d.Body)); err != nil {
			return err
		}
	}

	return r.fail[string(d.Body)]
}

func batch(bodies ...string) events.SQSEvent {
	var ev events.SQSEvent
	for _, b := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:  "id-" + b,
			Body:       b,
			Attributes: map[string]string{"MessageGroupId": "DEMO/api"},
		})
	}

	return ev
}

func failedIDs(resp events.SQSEventResponse) []string {
	ids := []string{}
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}

	return ids
}

func TestHandleFailures(t *testing.T) {
	tests := []struct {
		name          string
		bodies        []string
		fail          []string
		wantProcessed []string
		wantFailed    []string
	}{
		{
			name:          "all succeed",
			bodies:        []string{"a", "b", "c"},
			wantProcessed: []string{"a", "b", "c"},
			wantFailed:    []string{},
		},
		{
			name:          "first fails",
			bodies:        []string{"a", "b", "c"},
			fail:          []string{"a"},
			wantProcessed: []string{"a"},
			wantFailed:    []string{"id-a", "id-b", "id-c"},
		},
		{
			name:          "middle fails",
			bodies:        []string{"a", "b", "c", "d"},
			fail:          []string{"b"},
			wantProcessed: []string{"a", "b"},
			wantFailed:    []string{"id-b", "id-c", "id-d"},
		},
		{
			name:          "last fails",
			bodies:        []string{"a", "b", "c"},
			fail:          []string{"c"},
			wantProcessed: []string{"a", "b", "c"},
			wantFailed:    []string{"id-c"},
		},
		{
			name:          "two fail",
			bodies:        []string{"a", "b", "c", "d"},
			fail:          []string{"b", "d"},
			wantProcessed: []string{"a", "b"},
			wantFailed:    []string{"id-b", "id-c", "id-d"},
		},
		{
			name:          "empty batch",
			wantProcessed: nil,
			wantFailed:    []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{fail: map[string]error{}}
			for _, b := range tt.fail {
				rec.fail[b] = fmt.Errorf("archive %s: %w", b, errBoom)
			}
			h := &Handler{Process: rec.process}

			resp, err := h.Handle(t.Context(), batch(tt.bodies...))
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if !slices.Equal(rec.seen, tt.wantProcessed) {
				t.Errorf("processed %q, want %q", rec.seen, tt.wantProcessed)
			}
			if got := failedIDs(resp); !slices.Equal(got, tt.wantFailed) {
				t.Errorf("failures %q, want %q", got, tt.wantFailed)
			}
		})
	}
}

func TestHandleNoProcess(t *testing.T) {
	var h Handler
	if _, err := h.Handle(t.Context(), batch("a")); !errors.Is(err, ErrNoProcess) {
		t.Fatalf("Handle error = %v, want ErrNoProcess", err)
	}
}

// TestHandleGolden runs a realistic FIFO batch whose second message fails and
// compares the response Lambda receives with the golden file.
func TestHandleGolden(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "batch.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("decode batch: %v", err)
	}

	var seen []webhook.Delivery
	h := &Handler{Process: func(_ context.Context, d webhook.Delivery) error {
		seen = append(seen, d)
		if strings.HasPrefix(string(d.Body), "payload=") {
			return errBoom
		}
		return nil
	}}
	resp, err := h.Handle(t.Context(), ev)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if len(seen) != 2 || seen[1].ContentType != "application/x-www-form-urlencoded" {
		t.Fatalf("processed %d deliveries (second %+v), want 2 with the form content type", len(seen), seen)
	}

	got, err := json.MarshalIndent(resp, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "response-second-fails.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(got)+"\n" {
		t.Errorf("response:\n%s\nwant:\n%s", got, want)
	}
}

// TestHandleLogs checks one line per message naming message id and group, and never the body.
func TestHandleLogs(t *testing.T) {
	var buf bytes.Buffer
	rec := &recorder{fail: map[string]error{"secret-b": errBoom}}
	h := &Handler{Process: rec.process, Logger: slog.New(slog.NewJSONHandler(&buf, nil))}

	if _, err := h.Handle(t.Context(), batch("secret-a", "secret-b", "secret-c")); err != nil {
		t.Fatal(err)
	}

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	wantMsgs := []string{"sqs message processed", "sqs message failed", "sqs message returned to the queue"}
	if len(lines) != len(wantMsgs) {
		t.Fatalf("got %d log lines, want %d:\n%s", len(lines), len(wantMsgs), buf.String())
	}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if rec["msg"] != wantMsgs[i] {
			t.Errorf("line %d msg = %v, want %q", i, rec["msg"], wantMsgs[i])
		}
		if rec["message_id"] == "" || rec["group"] != "DEMO/api" {
			t.Errorf("line %d lacks message id or group: %s", i, line)
		}
		delete(rec, "message_id")
		if rest, _ := json.Marshal(rec); strings.Contains(string(rest), "secret-") {
			t.Errorf("line %d contains a body: %s", i, line)
		}
	}
}
