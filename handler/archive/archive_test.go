package archive

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fidelityFiles covers what git archive must agree on: modes, links, names, sizes and ordering.
func fidelityFiles() []gitserver.File {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 300<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	var text strings.Builder
	for i := range 40000 {
		fmt.Fprintf(&text, "line %d: the quick brown fox jumps over the lazy dog\n", i)
	}
	return []gitserver.File{
		{Path: "README.md", Data: []byte("# fidelity\n")},
		{Path: "bin/run.sh", Data: []byte("#!/bin/sh\necho run\n"), Exec: true},
		{Path: "bin/tool", Data: []byte{0x7f, 'E', 'L', 'F', 0, 1, 2, 3}, Exec: true},
		{Path: "link-to-readme", Symlink: "README.md"},
		{Path: "dir-link", Symlink: "src"},
		{Path: "dangling", Symlink: "does/not/exist"},
		{Path: "src/a/b/c/deep.txt", Data: []byte("deep\n")},
		{Path: "src/empty.txt"},
		{Path: "src/empty-exec.sh", Exec: true},
		{Path: "ünïcödé/日本語.txt", Data: []byte("日本語\n")},
		{Path: "スペース 名前.md", Data: []byte("space and kana\n")},
		{Path: "assets/random.bin", Data: random},
		{Path: "assets/zeros.bin", Data: make([]byte, 2<<20)},
		{Path: "assets/big.txt", Data: []byte(text.String())},
		{Path: "a-b", Data: []byte("dash\n")},
		{Path: "a.txt", Data: []byte("dot\n")},
		{Path: "a/x", Data: []byte("slash\n")},
		{Path: "a0", Data: []byte("zero\n")},
		{Path: "vendor/lib", Gitlink: "0123456789abcdef0123456789abcdef01234567"},
	}
}

// buildRepo makes a bare repository of files, packed when pack is set, and returns
// its directory, commit and a store opened as the clone package opens it.
func buildRepo(t testing.TB, files []gitserver.File, pack bool) (string, plumbing.Hash, storer.EncodedObjectStorer) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo.git")
	commit, err := gitserver.BuildRepo(context.Background(), dir, "main", files)
	if err != nil {
		t.Fatal(err)
	}
	if pack {
		if out, err := exec.Command("git", "--git-dir="+dir, "repack", "-adq").CombinedOutput(); err != nil {
			t.Fatalf("git repack: %v: %s", err, out)
		}
	}
	st := filesystem.NewStorageWithOptions(osfs.New(dir), cache.NewObjectLRU(32*cache.MiByte),
		filesystem.Options{LargeObjectThreshold: 1 << 20})
	t.Cleanup(func() { _ = st.Close() })
	return dir, plumbing.NewHash(commit), st
}

func gitOutput(t testing.TB, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("git", append([]string{"--git-dir=" + dir}, args...)...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v", args, err)
	}
	return out
}

func treeOf(t testing.TB, dir string, rev string) plumbing.Hash {
	t.Helper()
	return plumbing.NewHash(strings.TrimSpace(string(gitOutput(t, dir, "rev-parse", rev+"^{tree}"))))
}

func writeZip(t testing.TB, st storer.EncodedObjectStorer, tree, commit plumbing.Hash) ([]byte, Stats) {
	t.Helper()
	var buf bytes.Buffer
	stats, err := Write(context.Background(), &buf, st, tree,
		Options{Modified: gitserver.CommitTime, Comment: commit.String()})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), stats
}

// entry is what both zips must agree on for one path.
type entry struct {
	Name    string
	Kind    string // dir, file, exec or symlink
	Content string
	MTime   int64
}

func readZip(t *testing.T, data []byte) ([]entry, string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var entries []entry
	for _, f := range zr.File {
		e := entry{Name: f.Name, MTime: f.Modified.Unix()}
		mode := f.Mode()
		switch {
		case mode.IsDir():
			e.Kind = "dir"
		case mode&fs.ModeSymlink != 0:
			e.Kind = "symlink"
		case mode&0o111 != 0:
			e.Kind = "exec"
		default:
			e.Kind = "file"
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		_ = rc.Close()
		e.Content = string(b)
		entries = append(entries, e)
	}
	return entries, zr.Comment
}

func TestWriteMatchesGitArchive(t *testing.T) {
	for _, pack := range []bool{false, true} {
		t.Run(fmt.Sprintf("packed=%v", pack), func(t *testing.T) {
			dir, commit, st := buildRepo(t, fidelityFiles(), pack)
			ours, stats := writeZip(t, st, treeOf(t, dir, "main"), commit)
			theirs := gitOutput(t, dir, "archive", "--format=zip", "main")

			got, gotComment := readZip(t, ours)
			want, wantComment := readZip(t, theirs)
			if gotComment != wantComment {
				t.Errorf("comment = %q, git archive has %q", gotComment, wantComment)
			}
			if len(got) != len(want) {
				t.Errorf("%d entries, git archive has %d", len(got), len(want))
			}
			for i := range min(len(got), len(want)) {
				g, w := got[i], want[i]
				if g.Name != w.Name || g.Kind != w.Kind || g.MTime != w.MTime {
					t.Errorf("entry %d = %s %s %d, git archive has %s %s %d",
						i, g.Name, g.Kind, g.MTime, w.Name, w.Kind, w.MTime)
				}
				if g.Content != w.Content {
					t.Errorf("%s: content differs from git archive (%d vs %d bytes)",
						g.Name, len(g.Content), len(w.Content))
				}
			}

			var files, size int
			for _, e := range want {
				if e.Kind != "dir" {
					files++
					size += len(e.Content)
				}
			}
			if stats.Files != files || stats.Bytes != int64(size) || stats.Compressed != int64(len(ours)) {
				t.Errorf("stats = %+v, want %d files, %d bytes, %d compressed", stats, files, size, len(ours))
			}
		})
	}
}

// TestSampleListing checks the entries of the sample repository against testdata/sample.golden.
func TestSampleListing(t *testing.T) {
	root := t.TempDir()
	commitID, err := gitserver.SampleRepo(root, "DEMO", "api")
	if err != nil {
		t.Fatal(err)
	}
	dir := gitserver.RepoDir(root, "DEMO", "api")
	st := filesystem.NewStorage(osfs.New(dir), cache.NewObjectLRUDefault())
	data, _ := writeZip(t, st, treeOf(t, dir, "main"), plumbing.NewHash(commitID))

	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var listing strings.Builder
	for _, f := range zr.File {
		fmt.Fprintf(&listing, "%s %s %d %s\n", f.Mode(), f.Modified.UTC().Format("2006-01-02T15:04:05Z"),
			f.UncompressedSize64, f.Name)
	}

	golden := filepath.Join("testdata", "sample.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(listing.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if listing.String() != string(want) {
		t.Errorf("listing differs from %s:\n%s", golden, listing.String())
	}
}

func TestWriteStopsWhenCancelled(t *testing.T) {
	dir, commit, st := buildRepo(t, fidelityFiles(), false)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Write(ctx, io.Discard, st, treeOf(t, dir, "main"), Options{Comment: commit.String()})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestWriteRejectsBadLevel(t *testing.T) {
	dir, _, st := buildRepo(t, fidelityFiles()[:1], false)
	if _, err := Write(t.Context(), io.Discard, st, treeOf(t, dir, "main"), Options{Level: 10}); err == nil {
		t.Error("level 10 accepted")
	}
}

func TestSubfolders(t *testing.T) {
	dir, _, st := buildRepo(t, fidelityFiles(), false)
	subs, err := Subfolders(st, treeOf(t, dir, "main"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range subs {
		names = append(names, s.Name)
		out := strings.TrimSpace(string(gitOutput(t, dir, "rev-parse", "main:"+s.Name)))
		if want := plumbing.NewHash(out); s.Tree != want {
			t.Errorf("%s: tree %s, want %s", s.Name, s.Tree, want)
		}
	}
	want := "a assets bin src vendor ünïcödé"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("Subfolders = %q, want %q", got, want)
	}
}

// TestWriteStreamsLargeBlobs checks that a large blob is streamed: archiving it
// allocates far less than its size.
func TestWriteStreamsLargeBlobs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 48 MiB repository")
	}
	const size = 48 << 20
	big := bytes.Repeat([]byte("0123456789abcdef\n"), size/17)
	dir, _, st := buildRepo(t, []gitserver.File{{Path: "big.txt", Data: big}}, true)
	tree := treeOf(t, dir, "main")

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	stats, err := Write(t.Context(), io.Discard, st, tree, Options{})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Bytes != int64(len(big)) {
		t.Fatalf("archived %d bytes, want %d", stats.Bytes, len(big))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/4 {
		t.Errorf("allocated %d MiB to archive a %d MiB blob", alloc>>20, size>>20)
	}
}
