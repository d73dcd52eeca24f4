package archive

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"runtime"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"golang.org/x/sync/semaphore"
)

// archiver is one archive being made by three kinds of goroutines: the walker
// reads the tree and opens blobs, workers compress blobs into spill buffers, and
// the writer (the caller of Write) writes entries to the zip in tree order.
type archiver struct {
	ctx      context.Context
	objs     storer.EncodedObjectStorer
	modified time.Time
	deflate  zip.Compressor
	tempDir  string
	mem      *semaphore.Weighted // the budget of entries walked but not yet written

	order   chan *job // every entry, in tree order, from the walker to the writer
	work    chan *job // every blob, in tree order, from the walker to the workers
	walkErr error     // why the walker stopped; set before order is closed
}

// run writes the archive with the walker and the workers in goroutines of their
// own, and returns once they have all ended.
func run(ctx context.Context, w io.Writer, objs storer.EncodedObjectStorer, tree plumbing.Hash, opts Options,
	level int) (Stats, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := opts.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	a := &archiver{
		ctx: ctx, objs: objs, modified: opts.Modified.UTC(), deflate: opts.codec.compressor(level),
		tempDir: opts.TempDir, mem: semaphore.NewWeighted(budget),
		order: make(chan *job, 4096), work: make(chan *job, 64),
	}
	var wg sync.WaitGroup
	wg.Go(func() { a.walk(tree) })
	for range workers {
		wg.Go(a.worker)
	}

	cw := &countWriter{w: w}
	zw := zip.NewWriter(cw)
	var stats Stats
	held, err := a.write(zw, &stats)
	cancel()
	wg.Wait()
	if held != nil {
		held.release()
	}
	for j := range a.order {
		j.release()
	}
	if err != nil {
		return stats, err
	}

	if err := zw.SetComment(opts.Comment); err != nil {
		return stats, err
	}
	if err := zw.Close(); err != nil {
		return stats, err
	}
	stats.Compressed = cw.n
	return stats, nil
}

// write writes the entries to zw as they come, each once its worker is done. On
// error it returns the entry it held, for the caller to release once the workers
// have stopped.
func (a *archiver) write(zw *zip.Writer, stats *Stats) (*job, error) {
	for {
		var j *job
		var ok bool
		select {
		case j, ok = <-a.order:
		case <-a.ctx.Done():
			return nil, a.ctx.Err()
		}
		if !ok {
			return nil, a.walkErr
		}
		select {
		case <-j.done:
		case <-a.ctx.Done():
			return j, a.ctx.Err()
		}
		if err := a.entry(zw, j, stats); err != nil {
			return j, err
		}
		j.release()
		a.mem.Release(j.weight)
	}
}

// entry writes one finished job to zw.
func (a *archiver) entry(zw *zip.Writer, j *job, stats *Stats) error {
	if j.dir {
		if _, err := zw.CreateHeader(a.header(j.name, fs.ModeDir|0o755, zip.Store)); err != nil {
			return fmt.Errorf("%s: %w", j.name, err)
		}
		return nil
	}
	if j.err != nil {
		return j.err
	}
	fh := a.header(j.name, j.mode, j.method)
	rawHeader(fh, j.crc, j.out.n, j.n)
	w, err := zw.CreateRaw(fh)
	if err != nil {
		return fmt.Errorf("%s: %w", j.name, err)
	}
	if _, err := j.out.WriteTo(w); err != nil {
		return fmt.Errorf("%s: %w", j.name, err)
	}
	stats.Files++
	stats.Bytes += j.n
	return nil
}

// worker compresses the blobs it is handed until the walker stops.
func (a *archiver) worker() {
	buf := make([]byte, 32<<10)
	for j := range a.work {
		a.compress(j, buf)
	}
}

// compress reads the blob of j, computing its CRC-32, into j.out: deflated, or as
// it is for stored entries.
func (a *archiver) compress(j *job, buf []byte) {
	defer close(j.done)
	r := j.r
	j.r = nil

	var dst io.Writer = &j.out
	var fw io.WriteCloser
	if j.method == zip.Deflate {
		fw, _ = a.deflate(&j.out) // the pooled codecs never fail
		dst = fw
	}
	crc := crc32.NewIEEE()
	n, err := copyCRC(dst, crc, &ctxReader{ctx: a.ctx, r: r}, buf)
	if fw != nil {
		err = errors.Join(err, fw.Close())
	}
	err = errors.Join(err, r.Close())
	if err == nil && n != j.size {
		err = fmt.Errorf("blob %s has %d bytes, want %d", j.hash, n, j.size)
	}
	if err != nil {
		j.err = fmt.Errorf("%s: %w", j.name, err)
		return
	}
	j.crc, j.n = crc.Sum32(), n
}

// copyCRC copies r to dst through buf and adds what it copies to crc.
func copyCRC(dst, crc io.Writer, r io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		m, err := r.Read(buf)
		if m > 0 {
			_, _ = crc.Write(buf[:m])
			if _, werr := dst.Write(buf[:m]); werr != nil {
				return n, werr
			}
			n += int64(m)
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
