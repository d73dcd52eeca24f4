package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/localdb"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

// recorder is a ProcessFunc that logs what it saw and fails as told.
type recorder struct {
	mu      sync.Mutex
	done    map[string][]string // group → bodies processed successfully, in order
	tries   map[string]int      // body → attempts
	failN   map[string]int      // body → attempts that fail before one succeeds
	running map[string]bool     // group → a delivery of it is running
	overlap bool                // two deliveries of one group ran at once
}

func newRecorder() *recorder {
	return &recorder{done: map[string][]string{}, tries: map[string]int{}, failN: map[string]int{},
		running: map[string]bool{}}
}

func (r *recorder) process(group func(webhook.Delivery) string) ProcessFunc {
	return func(ctx context.Context, d webhook.Delivery) error {
		g := group(d)
		r.mu.Lock()
		if r.running[g] {
			r.overlap = true
		}
		r.running[g] = true
		r.tries[string(d.Body)]++
		fail := r.tries[string(d.Body)] <= r.failN[string(d.Body)]
		r.mu.Unlock()

		time.Sleep(time.Millisecond) // give other groups a chance to interleave

		r.mu.Lock()
		defer r.mu.Unlock()
		r.running[g] = false
		if fail {
			return errors.New("injected failure")
		}
		r.done[g] = append(r.done[g], string(d.Body))
		return nil
	}
}

func enqueue(t *testing.T, db *localdb.DB, group, body string) localdb.Message {
	t.Helper()
	m, _, err := db.Enqueue(group, webhook.NewDelivery("application/json", []byte(body), time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func runWorker(t *testing.T, w *Worker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	wait, stop := context.WithTimeout(context.Background(), time.Minute)
	defer stop()
	if err := w.WaitIdle(wait); err != nil {
		t.Fatalf("worker did not become idle: %v", err)
	}
}

func TestWorkerOrdersPerGroupAndRetries(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "q.db"))
	groupOf := map[string]string{}
	want := map[string][]string{}
	rec := newRecorder()
	for i := range 30 {
		g := fmt.Sprintf("P/repo%d", i%3)
		body := fmt.Sprintf("%s #%d", g, i)
		enqueue(t, db, g, body)
		groupOf[body] = g
		want[g] = append(want[g], body)
		if i%7 == 0 {
			rec.failN[body] = 2 // fails twice, then succeeds
		}
	}
	w := NewWorker(db, rec.process(func(d webhook.Delivery) string { return groupOf[string(d.Body)] }),
		WorkerConfig{Workers: 2, MaxAttempts: 5, Backoff: func(int) time.Duration { return time.Millisecond }}, nil)
	runWorker(t, w)

	if rec.overlap {
		t.Error("two deliveries of one repository ran at once")
	}
	for g, bodies := range want {
		if fmt.Sprint(rec.done[g]) != fmt.Sprint(bodies) {
			t.Errorf("%s processed %v, want %v", g, rec.done[g], bodies)
		}
	}
	if p, _ := db.Pending(); len(p) != 0 {
		t.Errorf("%d messages still queued", len(p))
	}
}

func TestWorkerMovesHopelessDeliveryToDeadLettersAndGoesOn(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "q.db"))
	rec := newRecorder()
	enqueue(t, db, "P/a", "bad")
	enqueue(t, db, "P/a", "good")
	rec.failN["bad"] = 1 << 30
	w := NewWorker(db, rec.process(func(webhook.Delivery) string { return "P/a" }),
		WorkerConfig{MaxAttempts: 3, Backoff: func(int) time.Duration { return time.Millisecond }}, nil)
	runWorker(t, w)

	if rec.tries["bad"] != 3 {
		t.Errorf("the failing delivery ran %d times, want 3", rec.tries["bad"])
	}
	if fmt.Sprint(rec.done["P/a"]) != "[good]" {
		t.Errorf("processed %v, want [good]", rec.done["P/a"])
	}
	dead, err := db.Dead()
	if err != nil || len(dead) != 1 || string(dead[0].Delivery.Body) != "bad" {
		t.Fatalf("dead letters %v (err %v), want the failing delivery", dead, err)
	}
}

func TestQueuedWebhookSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	db, err := localdb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	in := NewIntake(testToken, db, nil, nil) // no worker: the process "crashes" before work starts
	if status, r := post(t, in, "/backlog-webhook/"+testToken, "application/json",
		sample(t, "project-webhook-push.json")); status != 202 || !r.Queued {
		t.Fatalf("got %d %+v", status, r)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, path)
	rec := newRecorder()
	runWorker(t, NewWorker(db, rec.process(func(webhook.Delivery) string { return "g" }), WorkerConfig{}, nil))
	if len(rec.done["g"]) != 1 || rec.tries[string(sample(t, "project-webhook-push.json"))] != 1 {
		t.Fatalf("after restart processed %d deliveries in %d tries, want 1 in 1", len(rec.done["g"]), len(rec.tries))
	}
	if p, _ := db.Pending(); len(p) != 0 {
		t.Errorf("%d messages still queued", len(p))
	}
}
