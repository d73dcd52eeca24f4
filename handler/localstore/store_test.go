package localstore_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/backlog-webhook/backlog-webhook/handler/localstore"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

const key = "DEMO/api-server/main.zip"

func openStore(t *testing.T, dir string) *localstore.Store {
	t.Helper()
	s, err := localstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// payload returns n reproducible pseudo-random bytes.
func payload(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func put(t *testing.T, s *localstore.Store, k string, b []byte, m pipeline.Meta) pipeline.Object {
	t.Helper()
	obj, err := s.Put(t.Context(), k, bytes.NewReader(b), m)
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func readVersion(t *testing.T, s *localstore.Store, k, v string) ([]byte, pipeline.Object) {
	t.Helper()
	rc, obj, err := s.Open(t.Context(), k, v)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b, obj
}

func TestPutHeadOpenVersions(t *testing.T) {
	s := openStore(t, t.TempDir())
	first, second := payload(1, 700<<10), payload(2, 3)
	m1 := pipeline.Meta{Project: "DEMO", Repo: "api-server", Branch: "main", Commit: "c1", Tree: "t1", Delivery: "d1"}
	m2 := m1
	m2.Commit, m2.Tree, m2.Delivery = "c2", "t2", "d2"

	o1 := put(t, s, key, first, m1)
	o2 := put(t, s, key, second, m2)
	if o1.Version == o2.Version || o2.Version < o1.Version {
		t.Fatalf("versions %q then %q: want increasing", o1.Version, o2.Version)
	}
	if o1.Size != int64(len(first)) || o1.Key != key || o1.Meta != m1 {
		t.Fatalf("first object = %+v", o1)
	}

	head, err := s.Head(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if head != o2 {
		t.Fatalf("Head = %+v, want %+v", head, o2)
	}

	vs, err := s.Versions(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0] != o2 || vs[1] != o1 {
		t.Fatalf("Versions = %+v, want [second first]", vs)
	}

	tests := []struct {
		name    string
		version string
		want    []byte
		obj     pipeline.Object
	}{
		{name: "first by id", version: o1.Version, want: first, obj: o1},
		{name: "second by id", version: o2.Version, want: second, obj: o2},
		{name: "current", version: "", want: second, obj: o2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, obj := readVersion(t, s, key, tt.version)
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("read %d bytes, differ from the %d put", len(got), len(tt.want))
			}
			if obj != tt.obj {
				t.Fatalf("object = %+v, want %+v", obj, tt.obj)
			}
		})
	}
}

func TestMissing(t *testing.T) {
	s := openStore(t, t.TempDir())
	put(t, s, key, []byte("x"), pipeline.Meta{})

	if _, err := s.Head(t.Context(), "DEMO/api-server/other.zip"); !errors.Is(err, pipeline.ErrNotFound) {
		t.Fatalf("Head of a missing key: %v, want ErrNotFound", err)
	}
	if _, _, err := s.Open(t.Context(), key, "20000101T000000.000000000Z"); !errors.Is(err, pipeline.ErrNotFound) {
		t.Fatalf("Open of a missing version: %v, want ErrNotFound", err)
	}
	if _, _, err := s.Open(t.Context(), key, "../../../etc/passwd"); !errors.Is(err, localstore.ErrInvalidVersion) {
		t.Fatalf("Open of a path as version: %v, want ErrInvalidVersion", err)
	}
	vs, err := s.Versions(t.Context(), "DEMO/none.zip")
	if err != nil || len(vs) != 0 {
		t.Fatalf("Versions of a missing key = %v, %v; want none", vs, err)
	}
}

func TestHeadDoesNotReadArchive(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	obj := put(t, s, key, []byte("archive"), pipeline.Meta{Tree: "t"})

	data := filepath.Join(dir, "objects", filepath.FromSlash(key), "@versions", obj.Version, "data")
	if err := os.Remove(data); err != nil {
		t.Fatal(err)
	}
	head, err := s.Head(t.Context(), key)
	if err != nil || head != obj {
		t.Fatalf("Head without the archive = %+v, %v; want %+v", head, err, obj)
	}
	if _, _, err := s.Open(t.Context(), key, ""); !errors.Is(err, pipeline.ErrNotFound) {
		t.Fatalf("Open without the archive: %v, want ErrNotFound", err)
	}
}

func TestReopenClearsUnfinishedUploads(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	obj := put(t, s, key, []byte("kept"), pipeline.Meta{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	stale := filepath.Join(dir, "tmp", "123-1")
	if err := os.MkdirAll(stale, 0o750); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, dir)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("unfinished upload still there after Open: %v", err)
	}
	got, head := readVersion(t, s2, key, "")
	if string(got) != "kept" || head != obj {
		t.Fatalf("after reopen: %q %+v", got, head)
	}
}

// BenchmarkPut stores 1 MiB versions of one key, fsync included.
func BenchmarkPut(b *testing.B) {
	s, err := localstore.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := payload(1, 1<<20)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := s.Put(b.Context(), key, bytes.NewReader(body), pipeline.Meta{}); err != nil {
			b.Fatal(err)
		}
	}
}
