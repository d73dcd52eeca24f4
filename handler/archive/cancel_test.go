package archive

import (
	"bytes"
	"context"
	"errors"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
)

// stopWriter fails or cancels once more than after bytes were written to it.
type stopWriter struct {
	after  int
	n      int
	cancel context.CancelFunc // nil: fail the write instead
}

var errDiskFull = errors.New("disk full")

func (w *stopWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	if w.n > w.after {
		if w.cancel == nil {
			return 0, errDiskFull
		}
		w.cancel()
	}
	return len(p), nil
}

// openFiles counts the process's open file descriptors, or -1 where /proc is missing.
func openFiles(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(fds)
}

// settled waits for the goroutine count to come down to want: goroutines that
// signalled their end may take a moment to be gone from the count.
func settled(want int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 200 && n > want; i++ {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// TestWriteStopsMidArchive stops archives part-way, by cancelling the context or
// failing the write, and checks that Write reports why and leaves no goroutine,
// blob reader or temporary file behind.
func TestWriteStopsMidArchive(t *testing.T) {
	dir, st := buildPacked(t, spillFiles(), "1", []string{"repack", "-adq"})
	tree := treeOf(t, dir, "main")
	cases := []struct {
		name   string
		after  int
		cancel bool
		want   error
	}{
		{"cancelled before the start", -1, true, context.Canceled},
		{"cancelled after the first entries", 100, true, context.Canceled},
		{"cancelled in the spilled blob", 3 << 20, true, context.Canceled},
		{"write fails after the first entries", 100, false, errDiskFull},
		{"write fails in the spilled blob", 3 << 20, false, errDiskFull},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			w := &stopWriter{after: c.after}
			if c.cancel {
				w.cancel = cancel
			}
			if c.after < 0 {
				cancel()
			}
			goroutines, files := runtime.NumGoroutine(), openFiles(t)

			_, err := Write(ctx, w, st, tree, Options{TempDir: t.TempDir(), workers: 4})
			if !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
			if n := settled(goroutines); n > goroutines {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutines after Write, %d before:\n%s", n, goroutines, buf[:runtime.Stack(buf, true)])
			}
			if n := openFiles(t); n > files {
				t.Errorf("%d open files after Write, %d before", n, files)
			}
		})
	}
}

// TestWriteWithManyWorkersMatchesOneWorker archives a tree of 1,509 files with one
// worker and with sixteen (run it with -race) and expects the same zip.
func TestWriteWithManyWorkersMatchesOneWorker(t *testing.T) {
	dir, _, st := buildRepo(t, generatedTree(), true)
	tree := treeOf(t, dir, "main")
	zipWith := func(workers int) []byte {
		var w bytes.Buffer
		if _, err := Write(t.Context(), &w, st, tree, Options{Modified: gitserver.CommitTime, workers: workers}); err != nil {
			t.Fatal(err)
		}
		return w.Bytes()
	}
	one := zipWith(1)
	if many := zipWith(16); !bytes.Equal(many, one) {
		t.Errorf("16 workers: %d bytes, one worker: %d bytes, and they differ", len(many), len(one))
	}
}
