package localdb_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/backlog-webhook/backlog-webhook/handler/localdb"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

func delivery(id string) webhook.Delivery {
	return webhook.Delivery{
		ID: id, ContentType: "application/json", Body: append([]byte(`{"id":"`+id+`"}`), 0, 0xff),
		ReceivedAt: base,
	}
}

func enqueue(t *testing.T, db *localdb.DB, group, id string) localdb.Message {
	t.Helper()
	m, dup, err := db.Enqueue(group, delivery(id))
	if err != nil || dup {
		t.Fatalf("Enqueue %s = dup %v, %v", id, dup, err)
	}
	return m
}

func seqs(t *testing.T, msgs []localdb.Message, err error) []uint64 {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	out := []uint64{}
	for _, m := range msgs {
		out = append(out, m.Seq)
	}
	return out
}

func pendingSeqs(t *testing.T, db *localdb.DB) []uint64 {
	t.Helper()
	msgs, err := db.Pending()
	return seqs(t, msgs, err)
}

func deadSeqs(t *testing.T, db *localdb.DB) []uint64 {
	t.Helper()
	msgs, err := db.Dead()
	return seqs(t, msgs, err)
}

func TestEnqueueAckPending(t *testing.T) {
	db := openDB(t, "")
	a := enqueue(t, db, "DEMO/api", "a")
	b := enqueue(t, db, "DEMO/web", "b")

	again, dup, err := db.Enqueue("DEMO/api", delivery("a"))
	if err != nil || !dup || again.Seq != a.Seq {
		t.Fatalf("Enqueue of a queued delivery = %+v, dup %v, %v; want dup of seq %d", again, dup, err, a.Seq)
	}
	pending, err := db.Pending()
	if got := seqs(t, pending, err); !slices.Equal(got, []uint64{a.Seq, b.Seq}) {
		t.Fatalf("Pending = %v, want [%d %d]", got, a.Seq, b.Seq)
	}
	want := delivery("a")
	if p := pending[0]; p.Group != "DEMO/api" || p.Delivery.ID != "a" || !bytes.Equal(p.Delivery.Body, want.Body) ||
		!p.Delivery.ReceivedAt.Equal(base) || p.Delivery.ContentType != want.ContentType {
		t.Fatalf("pending message = %+v, want the delivery byte for byte", p)
	}

	if err := db.Ack(a.Seq); err != nil {
		t.Fatal(err)
	}
	err = db.Ack(a.Seq)
	if !errors.Is(err, pipeline.ErrNotFound) || !strings.HasPrefix(err.Error(), fmt.Sprintf("localdb: ack %d: ", a.Seq)) {
		t.Fatalf("second Ack = %v, want a named not-found error", err)
	}

	// Once acknowledged, the same delivery may be queued again.
	a2 := enqueue(t, db, "DEMO/api", "a")
	if got := pendingSeqs(t, db); !slices.Equal(got, []uint64{b.Seq, a2.Seq}) || a2.Seq <= b.Seq {
		t.Fatalf("Pending = %v, want [%d %d]", got, b.Seq, a2.Seq)
	}

	if _, _, err := db.Enqueue("g", webhook.Delivery{}); !errors.Is(err, localdb.ErrInvalid) {
		t.Fatalf("Enqueue without id = %v, want ErrInvalid", err)
	}
}

func TestFailToDeadLetter(t *testing.T) {
	tests := []struct {
		name        string
		maxAttempts int
	}{
		{name: "one attempt", maxAttempts: 1},
		{name: "three attempts", maxAttempts: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openDB(t, "")
			m := enqueue(t, db, "DEMO/api", "a")
			other := enqueue(t, db, "DEMO/api", "b")

			for i := 1; i <= tt.maxAttempts; i++ {
				dead, err := db.Fail(m.Seq, fmt.Errorf("clone DEMO/api@main: attempt %d\nrefused", i), tt.maxAttempts)
				if err != nil {
					t.Fatal(err)
				}
				if dead != (i == tt.maxAttempts) {
					t.Fatalf("attempt %d: dead = %v", i, dead)
				}
				if i < tt.maxAttempts {
					pending, err := db.Pending()
					if seqs(t, pending, err)[0] != m.Seq || pending[0].Attempts != i {
						t.Fatalf("attempt %d: pending %+v", i, pending)
					}
				}
			}

			if got := pendingSeqs(t, db); !slices.Equal(got, []uint64{other.Seq}) {
				t.Fatalf("Pending = %v, want only %d", got, other.Seq)
			}
			dead, err := db.Dead()
			if got := seqs(t, dead, err); !slices.Equal(got, []uint64{m.Seq}) {
				t.Fatalf("Dead = %v, want [%d]", got, m.Seq)
			}
			wantErr := fmt.Sprintf("clone DEMO/api@main: attempt %d refused", tt.maxAttempts)
			if dead[0].Attempts != tt.maxAttempts || dead[0].LastError != wantErr {
				t.Fatalf("dead message = %d attempts, %q; want %d, %q",
					dead[0].Attempts, dead[0].LastError, tt.maxAttempts, wantErr)
			}
			if _, err := db.Fail(m.Seq, errors.New("x"), tt.maxAttempts); !errors.Is(err, pipeline.ErrNotFound) {
				t.Fatalf("Fail of a dead message = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestRedrive(t *testing.T) {
	db := openDB(t, "")
	a := enqueue(t, db, "DEMO/api", "a")
	if dead, err := db.Fail(a.Seq, errors.New("boom"), 1); err != nil || !dead {
		t.Fatalf("Fail = %v, %v", dead, err)
	}
	c := enqueue(t, db, "DEMO/api", "c")

	if err := db.Redrive(a.Seq); err != nil {
		t.Fatal(err)
	}
	pending, err := db.Pending()
	if got := seqs(t, pending, err); len(got) != 2 || got[0] != c.Seq || got[1] <= c.Seq {
		t.Fatalf("Pending after redrive = %v, want [%d, newer]", got, c.Seq)
	}
	if r := pending[1]; r.Delivery.ID != "a" || r.Attempts != 0 || r.LastError != "boom" {
		t.Fatalf("redriven message = %+v", r)
	}
	if got := deadSeqs(t, db); len(got) != 0 {
		t.Fatalf("Dead after redrive = %v, want none", got)
	}
	if err := db.Redrive(a.Seq); !errors.Is(err, pipeline.ErrNotFound) {
		t.Fatalf("second Redrive = %v, want ErrNotFound", err)
	}

	// A dead delivery that was queued again meanwhile is merged, not queued twice.
	if _, err := db.Fail(c.Seq, errors.New("boom"), 1); err != nil {
		t.Fatal(err)
	}
	c2 := enqueue(t, db, "DEMO/api", "c")
	if err := db.Redrive(c.Seq); err != nil {
		t.Fatal(err)
	}
	if got := pendingSeqs(t, db); !slices.Equal(got, []uint64{pending[1].Seq, c2.Seq}) {
		t.Fatalf("Pending = %v, want [%d %d]", got, pending[1].Seq, c2.Seq)
	}
	if got := deadSeqs(t, db); len(got) != 0 {
		t.Fatalf("Dead = %v, want none", got)
	}
}

func TestConcurrentEnqueue(t *testing.T) {
	db := openDB(t, "")
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for i := range n {
		wg.Go(func() {
			_, dup, err := db.Enqueue("g", delivery("same"))
			if err != nil {
				t.Error(err)
			}
			if _, _, err := db.Enqueue("g", delivery(fmt.Sprint("own", i))); err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if !dup {
				fresh++
			}
		})
	}
	wg.Wait()
	if fresh != 1 {
		t.Fatalf("%d enqueues of one delivery were fresh, want 1", fresh)
	}
	got := pendingSeqs(t, db)
	if len(got) != n+1 || !slices.IsSorted(got) {
		t.Fatalf("Pending = %v, want %d in order", got, n+1)
	}
}
