package sqsbatch

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestReserveFor(t *testing.T) {
	tests := []struct {
		name    string
		left    time.Duration
		reserve time.Duration
		want    time.Duration
	}{
		{name: "default reserve on a long timeout", left: 15 * time.Minute, want: DefaultReserve},
		{name: "explicit reserve", left: 15 * time.Minute, reserve: 30 * time.Second, want: 30 * time.Second},
		{name: "short timeout keeps a quarter", left: 20 * time.Second, want: 5 * time.Second},
		{name: "explicit reserve capped", left: time.Minute, reserve: 50 * time.Second, want: 15 * time.Second},
		{name: "deadline passed", left: -time.Second, reserve: 3 * time.Second, want: 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ReserveFor(tt.left, tt.reserve); got != tt.want {
				t.Errorf("ReserveFor(%v, %v) = %v, want %v", tt.left, tt.reserve, got, tt.want)
			}
		})
	}
}

// TestHandleDeadline checks the per-message context and what happens when time runs out.
// Deadlines are set on the parent context; no case waits on a clock to decide its outcome.
func TestHandleDeadline(t *testing.T) {
	far := time.Now().Add(time.Hour)

	tests := []struct {
		name    string
		parent  func(t *testing.T) (context.Context, context.CancelFunc)
		reserve time.Duration
		// hook runs inside Process; cancel cancels the parent context.
		hook          func(ctx context.Context, body string, cancel context.CancelFunc) error
		wantProcessed []string
		wantFailed    []string
	}{
		{
			name: "no deadline gives no deadline",
			parent: func(t *testing.T) (context.Context, context.CancelFunc) {
				return context.WithCancel(t.Context())
			},
			hook: func(ctx context.Context, _ string, _ context.CancelFunc) error {
				if d, ok := ctx.Deadline(); ok {
					return errors.New("unexpected deadline " + d.String())
				}
				return nil
			},
			wantProcessed: []string{"a", "b", "c"},
			wantFailed:    []string{},
		},
		{
			name: "message context ends reserve before the deadline",
			parent: func(t *testing.T) (context.Context, context.CancelFunc) {
				return context.WithDeadline(t.Context(), far)
			},
			reserve: 7 * time.Second,
			hook: func(ctx context.Context, _ string, _ context.CancelFunc) error {
				if d, ok := ctx.Deadline(); !ok || !d.Equal(far.Add(-7*time.Second)) {
					return errors.New("wrong deadline " + d.String())
				}
				return nil
			},
			wantProcessed: []string{"a", "b", "c"},
			wantFailed:    []string{},
		},
		{
			name: "deadline already passed",
			parent: func(t *testing.T) (context.Context, context.CancelFunc) {
				return context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
			},
			wantProcessed: nil,
			wantFailed:    []string{"id-a", "id-b", "id-c"},
		},
		{
			name: "invocation cancelled during the second message",
			parent: func(t *testing.T) (context.Context, context.CancelFunc) {
				return context.WithDeadline(t.Context(), far)
			},
			hook: func(ctx context.Context, body string, cancel context.CancelFunc) error {
				if body == "b" {
					cancel()
					return ctx.Err()
				}
				return nil
			},
			wantProcessed: []string{"a", "b"},
			wantFailed:    []string{"id-b", "id-c"},
		},
		{
			name: "reserve reached while the first message runs",
			parent: func(t *testing.T) (context.Context, context.CancelFunc) {
				return context.WithDeadline(t.Context(), time.Now().Add(200*time.Millisecond))
			},
			reserve: 50 * time.Millisecond,
			hook: func(ctx context.Context, _ string, _ context.CancelFunc) error {
				<-ctx.Done()
				if cause := context.Cause(ctx); !errors.Is(cause, ErrReserveReached) {
					return errors.New("context ended by " + cause.Error())
				}
				return ctx.Err()
			},
			wantProcessed: []string{"a"},
			wantFailed:    []string{"id-a", "id-b", "id-c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.parent(t)
			defer cancel()

			var hookErr error
			rec := &recorder{}
			if tt.hook != nil {
				rec.hook = func(ctx context.Context, body string) error {
					err := tt.hook(ctx, body, cancel)
					if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
						hookErr = err
					}
					return err
				}
			}
			h := &Handler{Process: rec.process, Reserve: tt.reserve}

			resp, err := h.Handle(ctx, batch("a", "b", "c"))
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if hookErr != nil {
				t.Fatal(hookErr)
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
