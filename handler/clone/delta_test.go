package clone

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os/exec"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	gossh "golang.org/x/crypto/ssh"

	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
)

// TestLargeDeltaIsRebuilt clones two similar large files, which the server sends
// as a blob and a delta of it, and expects the rebuilt delta to match git's blob.
func TestLargeDeltaIsRebuilt(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	a := make([]byte, 3<<20)
	for i := range a {
		a[i] = "abcdefgh"[r.IntN(8)]
	}
	b := bytes.Clone(a)
	copy(b[1<<20:], "changed in the middle")
	b = append(b[:2<<20], append([]byte("inserted"), b[2<<20:]...)...)

	root := t.TempDir()
	dir := gitserver.RepoDir(root, "DEMO", "big")
	if _, err := gitserver.BuildRepo(t.Context(), dir, "main", []gitserver.File{
		{Path: "a.dat", Data: a}, {Path: "b.dat", Data: b},
	}); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "--git-dir="+dir, "repack", "-adq").CombinedOutput(); err != nil {
		t.Fatalf("git repack: %v: %s", err, out)
	}
	key, pub, err := gitserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := gitserver.Start(gitserver.Options{Root: root, AuthorizedKeys: []gossh.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	url, err := RepoURL(srv.ServerURL("git"), "DEMO", "big")
	if err != nil {
		t.Fatal(err)
	}
	repo, err := Clone(t.Context(), Options{URL: url, Branch: "main", PrivateKey: key,
		KnownHosts: srv.KnownHosts(), TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = repo.Close() })

	deltas := 0
	for _, tc := range []struct {
		name string
		want []byte
	}{{"a.dat", a}, {"b.dat", b}} {
		h := plumbing.ComputeHash(plumbing.BlobObject, tc.want)
		obj, err := repo.Objects().EncodedObject(plumbing.BlobObject, h)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if _, ok := obj.(*deltaBlob); ok {
			deltas++
		}
		rc, err := obj.Reader()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if obj.Size() != int64(len(tc.want)) || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: read %d bytes (size %d), want the %d bytes committed", tc.name, len(got), obj.Size(),
				len(tc.want))
		}
	}
	if deltas != 1 {
		t.Errorf("%d of the two files were rebuilt from a delta, want 1", deltas)
	}
}
