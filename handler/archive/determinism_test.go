package archive

import (
	"archive/zip"
	"bytes"
	"io"
	"io/fs"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
	kflate "github.com/klauspost/compress/flate"

	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
)

// spillFiles are the fidelity files and two blobs that compress to more than
// spillAt, so that their compressed data waits in temporary files.
func spillFiles() []gitserver.File {
	rng := rand.New(rand.NewPCG(3, 4))
	files := fidelityFiles()
	for _, name := range []string{"assets/spilled-1.bin", "assets/spilled-2.bin"} {
		big := make([]byte, spillAt+spillAt/4)
		for i := range big {
			big[i] = byte(rng.Uint32())
		}
		files = append(files, gitserver.File{Path: name, Data: big})
	}
	return files
}

// buildPacked builds files into a bare repository, loose objects written with
// core.looseCompression=loose, then runs git with repack (if any), and opens it.
func buildPacked(t *testing.T, files []gitserver.File, loose string, repack []string) (string, storer.EncodedObjectStorer) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo.git")
	git := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("git", append([]string{"--git-dir=" + dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	if out, err := exec.Command("git", "init", "-q", "--bare", "--initial-branch=main", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v: %s", err, out)
	}
	git("config", "core.looseCompression", loose)
	if _, err := gitserver.BuildRepo(t.Context(), dir, "main", files); err != nil {
		t.Fatal(err)
	}
	if repack != nil {
		git(repack...)
	}
	st := filesystem.NewStorageWithOptions(osfs.New(dir), cache.NewObjectLRU(8*cache.MiByte),
		filesystem.Options{LargeObjectThreshold: 1 << 20})
	t.Cleanup(func() { _ = st.Close() })
	return dir, st
}

// TestWriteIsDeterministic archives one tree from stores whose objects git
// compressed and packed in different ways, with different numbers of workers, and
// expects byte-identical zips, equal to what a zip.Writer writes compressing each
// blob in turn.
func TestWriteIsDeterministic(t *testing.T) {
	files := spillFiles()
	cases := []struct {
		name    string
		loose   string
		repack  []string
		workers int
	}{
		{"loose, compression 1, one worker", "1", nil, 1},
		{"loose, compression 9, eight workers", "9", nil, 8},
		{"packed, compression 1", "0", []string{"-c", "pack.compression=1", "repack", "-adfFq"}, 0},
		{"packed, compression 9, deep deltas", "0",
			[]string{"-c", "pack.compression=9", "repack", "-adfFq", "--window=50", "--depth=50"}, 3},
		{"packed, no deltas, compression 0", "0",
			[]string{"-c", "pack.compression=0", "repack", "-adfFq", "--window=0"}, 2},
	}

	var want []byte
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, st := buildPacked(t, files, c.loose, c.repack)
			tree := treeOf(t, dir, "main")
			opts := Options{Modified: gitserver.CommitTime, Comment: "deterministic", TempDir: t.TempDir(), workers: c.workers}
			var buf bytes.Buffer
			if _, err := Write(t.Context(), &buf, st, tree, opts); err != nil {
				t.Fatal(err)
			}
			if want == nil {
				want = serialZip(t, st, tree, opts)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("zip of %d bytes differs from the reference zip of %d bytes", buf.Len(), len(want))
			}
		})
	}
}

// serialZip is the reference: the zip that zip.Writer.CreateHeader makes of the
// tree, compressing each blob as it goes with the same codec and level.
func serialZip(t *testing.T, st storer.EncodedObjectStorer, tree plumbing.Hash, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return kflate.NewWriter(w, DefaultLevel)
	})
	add := func(name string, mode fs.FileMode, method uint16, data []byte) {
		fh := &zip.FileHeader{Name: name, Method: method, Modified: opts.Modified.UTC()}
		fh.SetMode(mode)
		w, err := zw.CreateHeader(fh)
		if err == nil {
			_, err = w.Write(data)
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var walk func(prefix string, h plumbing.Hash)
	walk = func(prefix string, h plumbing.Hash) {
		tr, err := object.GetTree(st, h)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range tr.Entries {
			name := prefix + e.Name
			if e.Mode == filemode.Dir || e.Mode == filemode.Submodule {
				add(name+"/", fs.ModeDir|0o755, zip.Store, nil)
				if e.Mode == filemode.Dir {
					walk(name+"/", e.Hash)
				}
				continue
			}
			blob, err := object.GetBlob(st, e.Hash)
			if err != nil {
				t.Fatal(err)
			}
			r, err := blob.Reader()
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(r)
			_ = r.Close()
			if err != nil {
				t.Fatal(err)
			}
			mode, method := fs.FileMode(0o644), uint16(zip.Deflate)
			switch e.Mode {
			case filemode.Executable:
				mode = 0o755
			case filemode.Symlink:
				mode, method = fs.ModeSymlink|0o777, zip.Store
			}
			if len(data) == 0 {
				method = zip.Store
			}
			add(name, mode, method, data)
		}
	}
	walk("", tree)
	if err := zw.SetComment(opts.Comment); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCodecIgnoresWriteSizes checks what determinism rests on: the codec's
// output depends on the data, not on how the readers of a store cut it up.
func TestCodecIgnoresWriteSizes(t *testing.T) {
	var data []byte
	for _, f := range spillFiles() {
		data = append(data, f.Data...)
	}
	compress := func(chunk int) []byte {
		var buf bytes.Buffer
		w, _ := klauspostCodec.compressor(DefaultLevel)(&buf)
		for rest := data; len(rest) > 0; {
			n := min(chunk, len(rest))
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	want := compress(len(data))
	for _, chunk := range []int{1 << 20, 32 << 10, 4096, 1000, 7} {
		if got := compress(chunk); !bytes.Equal(got, want) {
			t.Errorf("writes of %d bytes: %d compressed bytes, one write gives %d", chunk, len(got), len(want))
		}
	}
}
