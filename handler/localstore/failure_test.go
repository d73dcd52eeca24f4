package localstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/backlog-webhook/backlog-webhook/handler/localstore"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

var errBroken = errors.New("connection reset")

// brokenReader yields n bytes and then fails; before failing it runs hook, if set.
type brokenReader struct {
	n    int
	hook func()
	err  error
}

func (b *brokenReader) Read(p []byte) (int, error) {
	if b.n == 0 {
		if b.hook != nil {
			b.hook()
			b.hook = nil
			return 0, nil
		}
		return 0, b.err
	}
	k := min(len(p), b.n)
	for i := range k {
		p[i] = 'z'
	}
	b.n -= k
	return k, nil
}

// assertEmptyDir fails when dir has entries.
func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Fatalf("%s holds %d entries, want none", dir, len(ents))
	}
}

func TestFailedPutLeavesNothing(t *testing.T) {
	tests := []struct {
		name     string
		existing bool
		reader   func(cancel context.CancelFunc) io.Reader
		want     error
	}{
		{
			name:   "reader fails midway on a new key",
			reader: func(context.CancelFunc) io.Reader { return &brokenReader{n: 1 << 20, err: errBroken} },
			want:   errBroken,
		},
		{
			name:     "reader fails midway on an existing key",
			existing: true,
			reader:   func(context.CancelFunc) io.Reader { return &brokenReader{n: 1 << 20, err: errBroken} },
			want:     errBroken,
		},
		{
			name:     "context cancelled mid-stream",
			existing: true,
			reader: func(cancel context.CancelFunc) io.Reader {
				return &brokenReader{n: 300 << 10, hook: cancel, err: io.EOF}
			},
			want: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir)
			var before pipeline.Object
			if tt.existing {
				before = put(t, s, key, []byte("before"), pipeline.Meta{Commit: "c0"})
			}

			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			_, err := s.Put(ctx, key, tt.reader(cancel), pipeline.Meta{Commit: "c1"})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Put = %v, want %v", err, tt.want)
			}

			assertEmptyDir(t, filepath.Join(dir, "tmp"))
			vs, err := s.Versions(t.Context(), key)
			if err != nil {
				t.Fatal(err)
			}
			head, herr := s.Head(t.Context(), key)
			if !tt.existing {
				if len(vs) != 0 || !errors.Is(herr, pipeline.ErrNotFound) {
					t.Fatalf("after failed Put: versions %v, Head %v; want none", vs, herr)
				}
				return
			}
			if len(vs) != 1 || herr != nil || head != before {
				t.Fatalf("after failed Put: versions %v, Head %+v %v; want only %+v", vs, head, herr, before)
			}
		})
	}
}

func TestKeysCannotEscape(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "data")
	outside := filepath.Join(base, "outside")
	if err := os.Mkdir(outside, 0o750); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, dir)
	// A planted symlink must not lead a key out of the data directory either.
	if err := os.Symlink(outside, filepath.Join(dir, "objects", "link")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		key  string
		want error
	}{
		{name: "parent", key: "../outside/x.zip", want: localstore.ErrInvalidKey},
		{name: "deep parent", key: "DEMO/../../../outside/x.zip", want: localstore.ErrInvalidKey},
		{name: "absolute", key: outside + "/x.zip", want: localstore.ErrInvalidKey},
		{name: "NUL", key: "DEMO/x\x00.zip", want: localstore.ErrInvalidKey},
		{name: "empty segment", key: "DEMO//x.zip", want: localstore.ErrInvalidKey},
		{name: "empty", key: "", want: localstore.ErrInvalidKey},
		{name: "through a symlink", key: "link/x.zip"}, // refused by the file system layer
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := tt.key
			_, err := s.Put(t.Context(), k, bytes.NewReader([]byte("escape")), pipeline.Meta{})
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("Put(%q) = %v, want %v", k, err, tt.want)
			}
			if tt.want == nil {
				return
			}
			if _, err := s.Head(t.Context(), k); !errors.Is(err, tt.want) {
				t.Fatalf("Head(%q) = %v, want %v", k, err, tt.want)
			}
			if _, _, err := s.Open(t.Context(), k, ""); !errors.Is(err, tt.want) {
				t.Fatalf("Open(%q) = %v, want %v", k, err, tt.want)
			}
			if _, err := s.Versions(t.Context(), k); !errors.Is(err, tt.want) {
				t.Fatalf("Versions(%q) = %v, want %v", k, err, tt.want)
			}
		})
	}
	assertEmptyDir(t, outside)
	assertEmptyDir(t, filepath.Join(dir, "tmp"))
}

func TestConcurrentPuts(t *testing.T) {
	s := openStore(t, t.TempDir())
	const writers = 8
	keys := []string{key, "DEMO/api-server/main/docs.zip", "DEMO/api-server/feature%2Fx.zip"}

	var wg sync.WaitGroup
	errs := make(chan error, writers*len(keys))
	for _, k := range keys {
		for i := range writers {
			wg.Go(func() {
				body := payload(uint64(i), 64<<10+i)
				_, err := s.Put(context.Background(), k, bytes.NewReader(body), pipeline.Meta{Delivery: fmt.Sprint(i)})
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	for _, k := range keys {
		vs, err := s.Versions(t.Context(), k)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != writers {
			t.Fatalf("%s: %d versions, want %d", k, len(vs), writers)
		}
		seen := map[string]bool{}
		for _, v := range vs {
			if seen[v.Meta.Delivery] {
				t.Fatalf("%s: delivery %s stored twice", k, v.Meta.Delivery)
			}
			seen[v.Meta.Delivery] = true
		}

		head, err := s.Head(t.Context(), k)
		if err != nil || head != vs[0] {
			t.Fatalf("%s: Head = %+v, %v; want newest %+v", k, head, err, vs[0])
		}
		got, _ := readVersion(t, s, k, "")
		var i uint64
		_, _ = fmt.Sscan(head.Meta.Delivery, &i)
		if sha256.Sum256(got) != sha256.Sum256(payload(i, 64<<10+int(i))) {
			t.Fatalf("%s: current content is not the one put by delivery %d", k, i)
		}
	}
}
