// Package archive writes a zip of a Git tree straight from the object store, with
// no work tree, the way "git archive --format=zip <commit>" does: the same paths
// in the same order, the same contents, executable bits and symbolic links, a
// directory entry for every directory and an empty directory for every submodule.
//
// Output is deterministic: the same tree gives a byte-identical zip whatever store
// it is read from (loose objects, packs made with any compression, a clone from
// any server), because every entry carries Options.Modified and every blob is
// compressed anew with one codec (github.com/klauspost/compress/flate) at one
// level. The bytes depend on that codec's version: a release of the pipeline with
// another version of it may compress the same tree to other bytes.
//
// Blobs are compressed in parallel, each by one worker, ahead of the entry the zip
// is being written at; entries are written strictly in tree order. Memory stays
// bounded: compressed data waiting to be written is held in memory up to a fixed
// budget and beyond a few MiB per entry in temporary files, and blobs are streamed
// through their readers, provided the object store streams large objects (the clone
// package's store does, deltas included).
//
// Attributes in .gitattributes (export-ignore, export-subst) are not applied.
package archive

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// DefaultLevel is the deflate level used when Options.Level is zero, git's own
// default. BenchmarkArchive chose github.com/klauspost/compress/flate for it: at
// level 6 it makes zips as small as compress/flate at level 6 for a third of the
// CPU time, and costs less CPU than compress/flate at level 1.
const DefaultLevel = 6

const (
	// maxSymlink bounds the size of a symbolic link's target.
	maxSymlink = 64 << 10

	// spillAt is how much compressed data of one entry is held in memory; more goes to a temporary file.
	spillAt = 2 << 20

	// budget bounds the memory held by entries read or compressed ahead of the one being written.
	budget = 12 << 20
)

// Options tune an archive.
type Options struct {
	// Modified is the modification time of every entry; use the commit time, as git archive does.
	// It is written in UTC.
	Modified time.Time

	// Comment is the zip comment; git archive writes the commit id there.
	Comment string

	// Level is the deflate level, 1 (fastest) to 9 (smallest); zero means DefaultLevel.
	Level int

	// TempDir is where compressed entries larger than a few MiB wait for their turn;
	// empty means os.TempDir(). The files are removed as soon as they are created.
	TempDir string

	// codec overrides the deflate implementation, for benchmarks.
	codec codec

	// workers is the number of blobs compressed at once; zero means GOMAXPROCS.
	workers int
}

// Stats describe a written archive.
type Stats struct {
	Files      int   // regular files and symbolic links (directories are not counted)
	Bytes      int64 // uncompressed size of their contents
	Compressed int64 // size of the zip written to w
}

// Write writes a zip of tree, read from objs, to w and returns what it wrote.
// objs is only used from one goroutine at a time, but the readers of the blobs
// it returns are read concurrently with it and with each other.
// It stops with ctx.Err() when ctx ends, and returns only once every goroutine
// it started has ended. On error, w holds an incomplete zip.
func Write(ctx context.Context, w io.Writer, objs storer.EncodedObjectStorer, tree plumbing.Hash,
	opts Options) (Stats, error) {
	level := opts.Level
	if level == 0 {
		level = DefaultLevel
	}
	if level < 1 || level > 9 {
		return Stats{}, fmt.Errorf("archive %s: deflate level %d out of range 1-9", tree, level)
	}
	if opts.codec == nil {
		opts.codec = klauspostCodec
	}

	stats, err := run(ctx, w, objs, tree, opts, level)
	if err != nil {
		return stats, fmt.Errorf("archive %s: %w", tree, err)
	}
	return stats, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ctxReader stops a long copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
