package pipeline_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
	"github.com/backlog-webhook/backlog-webhook/handler/internal/localenv"
)

// trustAt rewrites known_hosts so the server's host key is expected at addr (a proxy in front of it).
func trustAt(t *testing.T, e *localenv.Env, addr string) {
	t.Helper()
	writeFile(t, e.KnownHostsFile, []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, e.Git.HostKey())+"\n"))
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// noise returns n incompressible bytes, the same for the same seed.
func noise(seed uint64, n int) []byte {
	r := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// bigFiles is a tree whose zip is larger than size: one incompressible file and a README.
func bigFiles(seed uint64, size int) []gitserver.File {
	return []gitserver.File{
		{Path: "README.md", Data: bytes.Repeat([]byte("big\n"), int(seed%7)+1)},
		{Path: "assets/blob.bin", Data: noise(seed, size)},
	}
}
