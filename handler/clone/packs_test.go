package clone

import (
	"archive/zip"
	"bytes"
	"io"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/backlog-webhook/backlog-webhook/handler/archive"
)

// TestDeflatedBlobsMakeTheSameZip archives a clone twice, copying the server's
// deflate streams and compressing every blob anew, and expects the same entries,
// headers and contents; only compressed sizes may differ.
func TestDeflatedBlobsMakeTheSameZip(t *testing.T) {
	f := newFixture(t)
	repo, err := Clone(t.Context(), Options{
		URL: f.url, Branch: "main", PrivateKey: f.key, KnownHosts: f.srv.KnownHosts(), TempDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = repo.Close() })

	deflated, ok := repo.Objects().(archive.DeflatedBlobs)
	if !ok {
		t.Fatal("the clone's store does not hand out deflate streams")
	}
	tree, err := object.GetTree(repo.Objects(), repo.Tree)
	if err != nil {
		t.Fatal(err)
	}
	whole := 0
	err = tree.Files().ForEach(func(file *object.File) error {
		_, size, ok, err := deflated.DeflatedBlob(file.Hash)
		if ok && size != file.Size {
			t.Errorf("%s: DeflatedBlob size %d, want %d", file.Name, size, file.Size)
		}
		if ok && file.Mode != filemode.Symlink {
			whole++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if whole == 0 {
		t.Fatal("no blob of the clone is handed out as a deflate stream")
	}

	copied := readEntries(t, writeZip(t, repo, false))
	fresh := readEntries(t, writeZip(t, repo, true))
	if len(copied) != len(fresh) {
		t.Fatalf("%d entries copying streams, %d compressing", len(copied), len(fresh))
	}
	for i := range copied {
		c, r := copied[i], fresh[i]
		c.hdr.CompressedSize, c.hdr.CompressedSize64 = 0, 0
		r.hdr.CompressedSize, r.hdr.CompressedSize64 = 0, 0
		if c.hdr.Name != r.hdr.Name || c.hdr.Flags != r.hdr.Flags || c.hdr.Method != r.hdr.Method ||
			!c.hdr.Modified.Equal(r.hdr.Modified) || c.hdr.CRC32 != r.hdr.CRC32 ||
			c.hdr.UncompressedSize64 != r.hdr.UncompressedSize64 || c.hdr.ExternalAttrs != r.hdr.ExternalAttrs ||
			c.hdr.CreatorVersion != r.hdr.CreatorVersion || c.hdr.ReaderVersion != r.hdr.ReaderVersion ||
			!bytes.Equal(c.hdr.Extra, r.hdr.Extra) || c.hdr.ModifiedDate != r.hdr.ModifiedDate ||
			c.hdr.ModifiedTime != r.hdr.ModifiedTime {
			t.Errorf("entry %d header differs:\ncopied     %+v\ncompressed %+v", i, c.hdr, r.hdr)
		}
		if !bytes.Equal(c.data, r.data) {
			t.Errorf("%s: content differs", c.hdr.Name)
		}
	}
}

type zipEntry struct {
	hdr  zip.FileHeader
	data []byte
}

func writeZip(t *testing.T, repo *Repo, recompress bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	opts := archive.Options{Modified: repo.Time, Comment: repo.Commit.String(), Recompress: recompress}
	if _, err := archive.Write(t.Context(), &buf, repo.Objects(), repo.Tree, opts); err != nil {
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
