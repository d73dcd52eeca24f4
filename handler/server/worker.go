package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/localdb"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

// Store is what the Worker needs of the durable queue.
type Store interface {
	// Pending returns every queued message in the order it was queued.
	Pending() ([]localdb.Message, error)

	// Ack removes a processed message.
	Ack(seq uint64) error

	// Fail counts a failed attempt and moves the message to the dead letters
	// once it has been tried maxAttempts times; dead reports that move.
	Fail(seq uint64, cause error, maxAttempts int) (dead bool, err error)
}

// ProcessFunc handles one delivery; an error means it must be retried.
type ProcessFunc func(ctx context.Context, d webhook.Delivery) error

// WorkerConfig tunes a Worker. Zero values take the defaults in brackets.
type WorkerConfig struct {
	Workers     int                             // repositories processed at once [2]
	MaxAttempts int                             // tries before a message becomes a dead letter [5]
	Backoff     func(attempt int) time.Duration // wait before retry [2s doubling, at most 1m]
}

// Worker runs queued deliveries: in order within a group (a repository), in
// parallel across groups, with at most Workers running at once. A failing
// delivery holds back the later ones of its group until it succeeds or is moved
// to the dead letters, so a repository's archives are never made out of order.
type Worker struct {
	store   Store
	process ProcessFunc
	cfg     WorkerConfig
	log     *slog.Logger

	mu      sync.Mutex
	groups  map[string][]localdb.Message // queued, per group, in order
	running map[string]bool              // group is being processed or waiting to retry
	ready   []string                     // groups that may start now
	wake    chan struct{}
	idle    *sync.Cond
	busy    int // groups running or waiting to retry
	queued  map[uint64]bool
	loaded  chan struct{} // closed once Run has taken in the queued messages
}

// NewWorker returns a Worker; call Run to start it.
func NewWorker(store Store, process ProcessFunc, cfg WorkerConfig, log *slog.Logger) *Worker {
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(attempt int) time.Duration {
			return min(time.Minute, time.Duration(1<<min(attempt, 6))*time.Second)
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Worker{
		store: store, process: process, cfg: cfg, log: log,
		groups: map[string][]localdb.Message{}, running: map[string]bool{}, queued: map[uint64]bool{},
		wake: make(chan struct{}, 1), loaded: make(chan struct{}),
	}
	w.idle = sync.NewCond(&w.mu)
	return w
}

// Add schedules a message that was just queued.
func (w *Worker) Add(m localdb.Message) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.addLocked(m)
}

func (w *Worker) addLocked(m localdb.Message) {
	if w.queued[m.Seq] {
		return
	}
	w.queued[m.Seq] = true
	w.groups[m.Group] = append(w.groups[m.Group], m)
	if !w.running[m.Group] && len(w.groups[m.Group]) == 1 {
		w.ready = append(w.ready, m.Group)
		w.signal()
	}
}

func (w *Worker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run resumes every message left in the queue, then processes messages as they
// are added until ctx is done. It returns after the running deliveries finish.
func (w *Worker) Run(ctx context.Context) error {
	pending, err := w.store.Pending()
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		w.log.Info("resuming queued webhooks", "count", len(pending))
	}
	w.mu.Lock()
	for _, m := range pending {
		w.addLocked(m)
	}
	w.mu.Unlock()
	close(w.loaded)

	var wg sync.WaitGroup
	slots := make(chan struct{}, w.cfg.Workers)
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			w.mu.Lock()
			w.idle.Broadcast()
			w.mu.Unlock()
			return nil
		case <-w.wake:
		}
		for {
			w.mu.Lock()
			if len(w.ready) == 0 {
				w.mu.Unlock()
				break
			}
			g := w.ready[0]
			w.ready = w.ready[1:]
			w.running[g] = true
			w.busy++
			m := w.groups[g][0]
			w.mu.Unlock()

			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				w.mu.Lock()
				w.running[g] = false
				w.busy--
				w.mu.Unlock()
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				retry := w.runOne(ctx, m)
				<-slots
				w.finish(ctx, g, retry)
			}()
		}
	}
}

// runOne processes m and reports how long to wait before retrying it, or 0 when
// m is done (processed or dead).
func (w *Worker) runOne(ctx context.Context, m localdb.Message) time.Duration {
	log := w.log.With("seq", m.Seq, "group", m.Group, "attempt", m.Attempts+1)
	err := w.process(ctx, m.Delivery)
	if ctx.Err() != nil {
		return -1 // shutting down: the message stays queued for the next start
	}
	if err == nil {
		if aerr := w.store.Ack(m.Seq); aerr != nil {
			log.Error("ack failed; the delivery will run again on restart", "err", aerr.Error())
		}
		return 0
	}
	dead, ferr := w.store.Fail(m.Seq, err, w.cfg.MaxAttempts)
	if ferr != nil {
		log.Error("recording failure failed", "err", ferr.Error())
	}
	if dead {
		log.Error("webhook moved to dead letters", "err", err.Error())
		return 0
	}
	wait := w.cfg.Backoff(m.Attempts + 1)
	log.Warn("webhook failed; will retry", "err", err.Error(), "in", wait.String())
	return wait
}

// finish releases group g: it drops the head message when done, or schedules a retry.
func (w *Worker) finish(ctx context.Context, g string, retry time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if retry < 0 {
		w.running[g] = false
		w.busy--
		w.idle.Broadcast()
		return
	}
	if retry == 0 {
		delete(w.queued, w.groups[g][0].Seq)
		w.groups[g] = w.groups[g][1:]
		if len(w.groups[g]) == 0 {
			delete(w.groups, g)
		}
		w.release(g)
		return
	}
	w.groups[g][0].Attempts++
	time.AfterFunc(retry, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if ctx.Err() != nil {
			w.running[g] = false
			w.busy--
			w.idle.Broadcast()
			return
		}
		w.release(g)
	})
}

// release marks g as not running and makes it ready again if it has work. w.mu is held.
func (w *Worker) release(g string) {
	w.running[g] = false
	w.busy--
	if len(w.groups[g]) > 0 {
		w.ready = append(w.ready, g)
		w.signal()
	}
	w.idle.Broadcast()
}

// Rescan takes in messages queued behind the Worker's back, such as a redriven dead letter.
// The queue is read under the Worker's lock, so a message that finishes meanwhile is not taken twice.
func (w *Worker) Rescan() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	pending, err := w.store.Pending()
	if err != nil {
		return err
	}
	for _, m := range pending {
		w.addLocked(m)
	}
	return nil
}

// WaitIdle blocks until Run has started and nothing is queued or running, or ctx is done.
func (w *Worker) WaitIdle(ctx context.Context) error {
	select {
	case <-w.loaded:
	case <-ctx.Done():
		return ctx.Err()
	}
	stop := context.AfterFunc(ctx, func() {
		w.mu.Lock()
		w.idle.Broadcast()
		w.mu.Unlock()
	})
	defer stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.groups) > 0 || w.busy > 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.idle.Wait()
	}
	return nil
}
