package archive

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	kflate "github.com/klauspost/compress/flate"

	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
)

// generatedTree is a tree shaped like a mid-sized project: many source files,
// some incompressible binaries and one large text file.
func generatedTree() []gitserver.File {
	rng := rand.New(rand.NewPCG(7, 11))
	words := strings.Fields(`func return if else for range package import type struct interface var const
		err nil ctx context string int64 byte error fmt Errorf errors New Is As slog Info Debug http
		request response handler archive store ledger commit tree branch repository webhook := == != { } ( )`)
	line := func(b *strings.Builder) {
		for n := 2 + rng.IntN(10); n > 0; n-- {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteByte(' ')
		}
		b.WriteByte('\n')
	}

	var files []gitserver.File
	for i := range 1500 {
		var b strings.Builder
		for n := 50 + rng.IntN(400); n > 0; n-- {
			line(&b)
		}
		path := fmt.Sprintf("pkg%02d/sub%d/file%04d.go", i%40, i%7, i)
		files = append(files, gitserver.File{Path: path, Data: []byte(b.String())})
	}
	for i := range 8 {
		bin := make([]byte, 512<<10)
		for j := range bin {
			bin[j] = byte(rng.Uint32())
		}
		files = append(files, gitserver.File{Path: fmt.Sprintf("assets/blob%d.bin", i), Data: bin})
	}
	var big strings.Builder
	for big.Len() < 8<<20 {
		fmt.Fprintf(&big, "2024-01-02T03:04:%02d INFO request id=%d path=/api/v1/items status=200\n",
			rng.IntN(60), rng.IntN(1e6))
	}
	return append(files, gitserver.File{Path: "logs/big.log", Data: []byte(big.String())})
}

// cpuTime is the user and system CPU time of the process so far; on a shared
// machine it varies less than wall time.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkArchive archives a generated tree (about 24 MB in 1,509 files, packed
// as after a clone) with each deflate implementation and level. It reports the
// compressed size as a fraction of the input ("ratio") and the CPU time per archive.
func BenchmarkArchive(b *testing.B) {
	dir, commit, st := buildRepo(b, generatedTree(), true)
	tree := treeOf(b, dir, "main")

	// storeCodec writes stored deflate blocks: the cost of reading objects and writing the zip.
	storeCodec := newPooledCodec(func(int) flateWriter {
		w, _ := kflate.NewWriter(io.Discard, kflate.NoCompression)
		return w
	})
	cases := []struct {
		name  string
		codec codec
		level int
	}{
		{"no-compression", storeCodec, 1},
		{"stdlib-1", stdlibCodec, 1},
		{"stdlib-6", stdlibCodec, 6},
		{"klauspost-1", klauspostCodec, 1},
		{"klauspost-3", klauspostCodec, 3},
		{"klauspost-5", klauspostCodec, 5},
		{"klauspost-6", klauspostCodec, 6},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			opts := Options{Modified: gitserver.CommitTime, Comment: commit.String(), Level: c.level, codec: c.codec}
			var stats Stats
			cpu0 := cpuTime(b)
			for b.Loop() {
				var err error
				stats, err = Write(context.Background(), io.Discard, st, tree, opts)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime(b)-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
			b.SetBytes(stats.Bytes)
			b.ReportMetric(float64(stats.Compressed)/float64(stats.Bytes), "ratio")
		})
	}
}
