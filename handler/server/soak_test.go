//go:build soak

package server_test

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/server"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

// Soak sizes: bounded in count; the whole run is bounded in time by soakLimit.
const (
	soakRepos   = 50
	soakPerRepo = 20 // webhooks (and commits) per repository
	soakSenders = 8  // repositories pushing at once
	soakLimit   = 10 * time.Minute
)

func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// TestSoakLocalServer sends 1,000 webhooks over 50 repositories through the local server
// on loopback and checks that all are processed in order per repository and that
// goroutines and open files return to where they were.
func TestSoakLocalServer(t *testing.T) {
	goBefore, fdBefore := runtime.NumGoroutine(), openFDs(t)
	var peak atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
				if n := int64(runtime.NumGoroutine()); n > peak.Load() {
					peak.Store(n)
				}
			}
		}
	}()

	var elapsed time.Duration
	t.Run("run", func(t *testing.T) {
		elapsed = soak(t)
	})
	close(stopSampling)
	<-sampled
	client.CloseIdleConnections()

	var goAfter, fdAfter int
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		goAfter, fdAfter = runtime.NumGoroutine(), openFDs(t)
		if (goAfter <= goBefore && fdAfter <= fdBefore) || time.Now().After(deadline) {
			break
		}
	}
	total := soakRepos * soakPerRepo
	t.Logf("soak: %d webhooks over %d repositories in %v (%.1f webhooks/s)", total, soakRepos,
		elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())
	t.Logf("soak: goroutines %d before, peak %d, %d after; open files %d before, %d after", goBefore,
		peak.Load(), goAfter, fdBefore, fdAfter)
	if goAfter > goBefore || fdAfter > fdBefore {
		buf := make([]byte, 1<<20)
		t.Fatalf("leak: goroutines %d → %d, open files %d → %d\n%s", goBefore, goAfter, fdBefore, fdAfter,
			buf[:runtime.Stack(buf, true)])
	}
}

// soak runs the load and checks the outcome; everything it starts stops when t ends.
func soak(t *testing.T) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), soakLimit)
	defer cancel()
	f := newFlow(t, nil)

	var mu sync.Mutex
	done := map[string][]string{} // repository → delivery ids processed, in order
	process := func(ctx context.Context, d webhook.Delivery) error {
		if err := f.handle(ctx, d); err != nil {
			return err
		}
		ev, err := webhook.Parse(d.ContentType, d.Body)
		if err != nil {
			return err
		}
		mu.Lock()
		done[ev.FullName()] = append(done[ev.FullName()], d.ID)
		mu.Unlock()
		return nil
	}
	url, w := serve(t, f, "soak-token", process, server.WorkerConfig{Workers: 4, MaxAttempts: 5,
		Backoff: func(int) time.Duration { return 50 * time.Millisecond }})

	start := time.Now()
	sent := make([][]string, soakRepos)
	slots := make(chan struct{}, soakSenders)
	var wg sync.WaitGroup
	var failMu sync.Mutex
	var failed error // the first error of a sender
	for r := range soakRepos {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			repo := fmt.Sprintf("repo%02d", r)
			for i := range soakPerRepo {
				if ctx.Err() != nil {
					return
				}
				c, err := gitserver.BuildRepo(ctx, gitserver.RepoDir(f.Root, "SOAK", repo), "main",
					[]gitserver.File{{Path: "README.md", Data: fmt.Appendf(nil, "%s change %d\n", repo, i)}})
				if err == nil {
					var id string
					id, err = tryAccept(url, pushBody("SOAK", repo, c))
					sent[r] = append(sent[r], id)
				}
				if err != nil {
					failMu.Lock()
					failed = cmp.Or(failed, err)
					failMu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if failed != nil {
		t.Fatalf("sending: %v", failed)
	}
	idle, stop := context.WithTimeout(ctx, soakLimit)
	defer stop()
	if err := w.WaitIdle(idle); err != nil {
		t.Fatalf("the worker did not finish within %v: %v", soakLimit, err)
	}
	elapsed := time.Since(start)

	for r := range soakRepos {
		name := fmt.Sprintf("SOAK/repo%02d", r)
		if !slices.Equal(done[name], sent[r]) {
			t.Errorf("%s: processed %d deliveries %v, want the %d sent, in order", name, len(done[name]),
				done[name], len(sent[r]))
		}
	}
	if p, err := f.DB.Pending(); err != nil || len(p) != 0 {
		t.Errorf("%d still queued (err %v)", len(p), err)
	}
	if d, err := f.DB.Dead(); err != nil || len(d) != 0 {
		t.Errorf("%d dead letters (err %v)", len(d), err)
	}
	hist, err := f.DB.History(t.Context(), pipeline.Query{Project: "SOAK"})
	if err != nil || len(hist) != soakRepos*soakPerRepo {
		t.Errorf("ledger holds %d records (err %v), want %d", len(hist), err, soakRepos*soakPerRepo)
	}
	return elapsed
}
