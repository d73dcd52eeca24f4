// Package archive writes a zip of a Git tree straight from the object store, with
// no work tree, the way "git archive --format=zip <commit>" does: the same paths
// in the same order, the same bytes, executable bits and symbolic links, a
// directory entry for every directory and an empty directory for every submodule.
//
// Output is deterministic: every entry carries Options.Modified, so the same tree
// read from the same store always gives byte-identical zips. When the store hands
// out blobs as the deflate streams it keeps (DeflatedBlobs, as the clone's store
// does), Write copies those streams instead of compressing again; the entries'
// contents, CRCs and headers are the same, but the compressed bytes are the
// server's, so two servers may give zips of different bytes for one tree.
// Options.Recompress turns that off. Blobs are streamed through their readers,
// so memory does not grow with the size of the repository, provided the object
// store streams large objects (the clone package's store does, deltas included).
//
// Attributes in .gitattributes (export-ignore, export-subst) are not applied.
package archive

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// DefaultLevel is the deflate level used when Options.Level is zero, git's own
// default. BenchmarkArchive chose github.com/klauspost/compress/flate for it: at
// level 6 it makes zips as small as compress/flate at level 6 for a third of the
// CPU time, and costs less CPU than compress/flate at level 1.
const DefaultLevel = 6

// maxSymlink bounds the size of a symbolic link's target.
const maxSymlink = 64 << 10

// Options tune an archive.
type Options struct {
	// Modified is the modification time of every entry; use the commit time, as git archive does.
	// It is written in UTC.
	Modified time.Time

	// Comment is the zip comment; git archive writes the commit id there.
	Comment string

	// Level is the deflate level, 1 (fastest) to 9 (smallest); zero means DefaultLevel.
	Level int

	// Recompress makes Write compress every blob itself even when objs can hand
	// out its stored deflate stream (see DeflatedBlobs).
	Recompress bool

	// codec overrides the deflate implementation, for benchmarks.
	codec codec
}

// Stats describe a written archive.
type Stats struct {
	Files      int   // regular files and symbolic links (directories are not counted)
	Bytes      int64 // uncompressed size of their contents
	Compressed int64 // size of the zip written to w
}

// Write writes a zip of tree, read from objs, to w and returns what it wrote.
// It stops with ctx.Err() when ctx ends. On error, w holds an incomplete zip.
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

	cw := &countWriter{w: w}
	a := &archiver{
		ctx:      ctx,
		objs:     objs,
		zw:       zip.NewWriter(cw),
		modified: opts.Modified.UTC(),
		buf:      make([]byte, 32<<10),
	}
	a.zw.RegisterCompressor(zip.Deflate, opts.codec.compressor(level))
	if d, ok := objs.(DeflatedBlobs); ok && !opts.Recompress {
		a.deflated = d
	}

	if err := a.tree("", tree); err != nil {
		return a.stats, fmt.Errorf("archive %s: %w", tree, err)
	}
	if err := a.zw.SetComment(opts.Comment); err != nil {
		return a.stats, fmt.Errorf("archive %s: %w", tree, err)
	}
	if err := a.zw.Close(); err != nil {
		return a.stats, fmt.Errorf("archive %s: %w", tree, err)
	}
	a.stats.Compressed = cw.n
	return a.stats, nil
}

type archiver struct {
	ctx      context.Context
	objs     storer.EncodedObjectStorer
	zw       *zip.Writer
	modified time.Time
	buf      []byte
	stats    Stats
	deflated DeflatedBlobs // nil unless the store has the ability and Options.Recompress is off
}

// tree writes the entries of tree h under prefix in the order git stores them,
// which is the order git archive writes them.
func (a *archiver) tree(prefix string, h plumbing.Hash) error {
	t, err := object.GetTree(a.objs, h)
	if err != nil {
		return fmt.Errorf("read tree %s%s: %w", prefix, h, err)
	}
	for _, e := range t.Entries {
		if err := a.ctx.Err(); err != nil {
			return err
		}
		name := prefix + e.Name
		switch e.Mode {
		case filemode.Dir:
			if err := a.dir(name + "/"); err != nil {
				return err
			}
			if err := a.tree(name+"/", e.Hash); err != nil {
				return err
			}
		case filemode.Submodule:
			if err := a.dir(name + "/"); err != nil {
				return err
			}
		case filemode.Regular, filemode.Deprecated:
			err = a.file(name, e.Hash, 0o644)
		case filemode.Executable:
			err = a.file(name, e.Hash, 0o755)
		case filemode.Symlink:
			err = a.file(name, e.Hash, fs.ModeSymlink|0o777)
		default:
			err = fmt.Errorf("%s: unsupported mode %s", name, e.Mode)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (a *archiver) header(name string, mode fs.FileMode, method uint16) *zip.FileHeader {
	fh := &zip.FileHeader{Name: name, Method: method, Modified: a.modified}
	fh.SetMode(mode) // also marks the entry as made on Unix
	return fh
}

func (a *archiver) dir(name string) error {
	if _, err := a.zw.CreateHeader(a.header(name, fs.ModeDir|0o755, zip.Store)); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// file writes the blob h as name; symbolic links hold their target, stored.
func (a *archiver) file(name string, h plumbing.Hash, mode fs.FileMode) error {
	if a.deflated != nil && mode&fs.ModeSymlink == 0 {
		if done, err := a.rawFile(name, h, mode); done || err != nil {
			return err
		}
	}
	obj, err := a.objs.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return fmt.Errorf("%s: read blob %s: %w", name, h, err)
	}
	size := obj.Size()
	if mode&fs.ModeSymlink != 0 && size > maxSymlink {
		return fmt.Errorf("%s: symbolic link target of %d bytes", name, size)
	}

	method := zip.Deflate
	if size == 0 || mode&fs.ModeSymlink != 0 {
		method = zip.Store
	}
	fh := a.header(name, mode, method)
	fh.UncompressedSize64 = uint64(size)
	zf, err := a.zw.CreateHeader(fh)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}

	r, err := obj.Reader()
	if err != nil {
		return fmt.Errorf("%s: read blob %s: %w", name, h, err)
	}
	n, err := io.CopyBuffer(zf, &ctxReader{ctx: a.ctx, r: r}, a.buf)
	cerr := r.Close()
	if err == nil && n != size {
		err = fmt.Errorf("blob %s has %d bytes, want %d", h, n, size)
	}
	if err = errors.Join(err, cerr); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}

	a.stats.Files++
	a.stats.Bytes += n
	return nil
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
