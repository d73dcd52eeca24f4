package bench

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// gen writes one repository's fast-import stream; the first write error sticks.
type gen struct {
	w    io.Writer
	spec Spec
	mark int
	buf  []byte
	err  error
}

func (g *gen) printf(format string, args ...any) {
	if g.err == nil {
		_, g.err = fmt.Fprintf(g.w, format, args...)
	}
}

func (g *gen) write(p []byte) {
	if g.err == nil {
		_, g.err = g.w.Write(p)
	}
}

// blob writes data as a new blob and returns its mark.
func (g *gen) blob(data []byte) int {
	g.mark++
	g.printf("blob\nmark :%d\ndata %d\n", g.mark, len(data))
	g.write(data)
	g.write([]byte{'\n'})
	return g.mark
}

// commit writes commit number c: every file for the first, the churned ones after.
func (g *gen) commit(c int) {
	type change struct {
		path string
		mode string
		mark int
	}
	var changes []change
	for i := range g.spec.Files {
		if c > 0 && rng(g.spec.Seed, 7, uint64(c), uint64(i)).Float64() >= g.spec.Churn {
			continue
		}
		mode := "100644"
		if i%97 == 5 {
			mode = "100755"
		}
		changes = append(changes, change{sourcePath(i), mode, g.blob(g.source(i, c))})
	}
	if c == 0 {
		for i, b := range g.spec.Binaries {
			changes = append(changes, change{b.Path, "100644", g.blob(g.binary(i, b))})
		}
	}

	when := commitEpoch.Add(time.Duration(c) * time.Hour).Unix()
	msg := fmt.Sprintf("Change %d of %s", c+1, g.spec.Name)
	g.mark++
	g.printf("commit refs/heads/%s\nmark :%d\n", Branch, g.mark)
	g.printf("author Bench Author <author@example.com> %d +0000\n", when)
	g.printf("committer Bench Committer <committer@example.com> %d +0000\n", when)
	g.printf("data %d\n%s\n", len(msg), msg)
	if c == 0 {
		g.printf("M 120000 inline docs/latest.md\ndata 8\nguide.md\n")
	}
	for _, ch := range changes {
		g.printf("M %s :%d %s\n", ch.mode, ch.mark, ch.path)
	}
	g.printf("\n")
}

// sourcePath spreads source files over nested directories of a few dozen files each.
func sourcePath(i int) string {
	exts := [...]string{".go", ".ts", ".java", ".py", ".md", ".json", ".css", ".sql"}
	return fmt.Sprintf("src/mod%02d/pkg%03d/file%05d%s", i%29, (i/29)%53, i, exts[i%len(exts)])
}

// words are the tokens source files are made of, so they deflate like code does.
var words = []string{
	"func", "return", "if", "err", "nil", "for", "range", "var", "const", "type", "struct", "interface",
	"string", "int", "bool", "error", "ctx", "context", "Context", "fmt", "Errorf", "log", "Info", "value",
	"key", "name", "count", "index", "buffer", "reader", "writer", "close", "open", "handle", "request",
	"response", "client", "server", "config", "options", "result", "items", "list", "map", "make", "append",
	"len", "cap", "switch", "case", "default", "break", "continue", "go", "defer", "select", "chan", "true",
	"false", "self", "this", "public", "private", "static", "void", "class", "import", "package", "from",
	"{", "}", "(", ")", "[", "]", ":=", "=", "==", "!=", "&&", "||", "+", "-", "*", "/", ",", ".", ";",
	"0", "1", "2", "42", "100", "\"ok\"", "\"error\"", "// TODO", "/* note */", "user", "account", "order",
	"payment", "invoice", "customer", "product", "price", "total", "amount", "status", "created", "updated",
}

// source returns the content of source file i as of commit c (the last commit that changed it).
func (g *gen) source(i, c int) []byte {
	r := rng(g.spec.Seed, 1, uint64(i), uint64(c))
	size := g.spec.MeanSize/8 + r.IntN(g.spec.MeanSize*7/4+1)
	b := g.buf[:0]
	b = fmt.Appendf(b, "// file %d, revision %d, generated for the %s benchmark\n", i, c, g.spec.Name)
	for len(b) < size {
		depth := r.IntN(4)
		for range depth {
			b = append(b, '\t')
		}
		for n := 3 + r.IntN(9); n > 0; n-- {
			b = append(b, words[r.IntN(len(words))]...)
			b = append(b, ' ')
		}
		if r.IntN(6) == 0 {
			b = fmt.Appendf(b, "id%08x", r.Uint32())
		}
		b = append(b, '\n')
	}
	g.buf = b
	return b
}

// binary returns large file i: random bytes, or fixed-size records that deflate about fourfold.
func (g *gen) binary(i int, bin Binary) []byte {
	r := rng(g.spec.Seed, 2, uint64(i))
	b := make([]byte, bin.Size)
	if !bin.Compressible {
		fillRandom(r, b)
		return b
	}
	var id uint64
	for off := 0; off+32 <= len(b); off += 32 {
		id += uint64(1 + r.IntN(3))
		binary.LittleEndian.PutUint64(b[off:], id)
		binary.LittleEndian.PutUint32(b[off+8:], uint32(r.IntN(1000)))
		copy(b[off+12:], "sensor-reading:ok  ")
		b[off+31] = byte(r.IntN(4))
	}
	return b
}

func fillRandom(r *rand.Rand, b []byte) {
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, r.Uint64())
		b = b[8:]
	}
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}
