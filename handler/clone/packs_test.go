package clone

import (
	"archive/zip"
	"bytes"
	"io"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/backlog-webhook/backlog-webhook/handler/archive"
	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
)

// TestZipIsTheSameWhateverTheServerPacks clones the same commit while the server
// keeps its objects loose, then packed with the lowest and the highest zlib
// compression, and expects byte-identical zips, equal to the zip of the server's
// own store, and holding every blob intact.
func TestZipIsTheSameWhateverTheServerPacks(t *testing.T) {
	f := newFixture(t)
	serverDir := gitserver.RepoDir(f.root, "DEMO", "api")
	cases := []struct {
		name   string
		repack []string
	}{
		{"loose", nil},
		{"packed, compression 1", []string{"-c", "pack.compression=1", "repack", "-adfFq"}},
		{"packed, compression 9", []string{"-c", "pack.compression=9", "repack", "-adfFq", "--window=50"}},
	}
	var first []byte
	for _, c := range cases {
		if c.repack != nil {
			out, err := exec.Command("git", append([]string{"--git-dir=" + serverDir}, c.repack...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("git repack: %v: %s", err, out)
			}
		}
		repo, err := Clone(t.Context(), Options{
			URL: f.url, Branch: "main", PrivateKey: f.key, KnownHosts: f.srv.KnownHosts(), TempDir: t.TempDir(),
		})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := writeZip(t, repo, repo.Objects())
		if first == nil {
			first = got
			server := filesystem.NewStorage(osfs.New(serverDir), cache.NewObjectLRUDefault())
			if want := writeZip(t, repo, server); !bytes.Equal(got, want) {
				t.Errorf("%s: zip of the clone differs from the zip of the server's store", c.name)
			}
			if len(readEntries(t, got)) == 0 {
				t.Error("empty zip")
			}
		} else if !bytes.Equal(got, first) {
			t.Errorf("%s: zip of %d bytes differs from the first one of %d bytes", c.name, len(got), len(first))
		}
		_ = repo.Close()
	}
}

type zipEntry struct {
	hdr  zip.FileHeader
	data []byte
}

// writeZip archives the tree of repo's commit, read from objs.
func writeZip(t *testing.T, repo *Repo, objs storer.EncodedObjectStorer) []byte {
	t.Helper()
	var buf bytes.Buffer
	opts := archive.Options{Modified: repo.Time, Comment: repo.Commit.String()}
	if _, err := archive.Write(t.Context(), &buf, objs, repo.Tree, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readEntries reads every entry of a zip, checking each CRC-32 on the way.
func readEntries(t *testing.T, data []byte) []zipEntry {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out []zipEntry
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		_ = rc.Close()
		out = append(out, zipEntry{hdr: f.FileHeader, data: b})
	}
	return out
}

// TestPackIndexVerifies checks the pack and index the clone wrote with git verify-pack.
func TestPackIndexVerifies(t *testing.T) {
	f := newFixture(t)
	repo, err := Clone(t.Context(), Options{
		URL: f.url, Branch: "main", PrivateKey: f.key, KnownHosts: f.srv.KnownHosts(), TempDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = repo.Close() })

	idx, err := filepath.Glob(filepath.Join(repo.dir, "git", "objects", "pack", "pack-*.idx"))
	if err != nil || len(idx) != 1 {
		t.Fatalf("want one pack index, found %q (%v)", idx, err)
	}
	out, err := exec.Command("git", "verify-pack", "-v", idx[0]).CombinedOutput()
	if err != nil {
		t.Fatalf("git verify-pack: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte(repo.Commit.String()+" commit")) {
		t.Errorf("verify-pack does not list the commit %s:\n%s", repo.Commit, out)
	}
}
