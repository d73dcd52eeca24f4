package archive

import (
	"archive/zip"
	"fmt"
	"io"
	"io/fs"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// job is one entry of the zip. The walker makes it, a worker fills it for a blob,
// the writer writes it; done is closed when the fields below it are set.
type job struct {
	name   string
	mode   fs.FileMode
	method uint16
	dir    bool
	hash   plumbing.Hash
	size   int64         // the blob's size in the store
	r      io.ReadCloser // the blob's content until a worker reads and closes it
	weight int64         // memory budget the entry holds until it is written
	done   chan struct{}

	crc uint32
	n   int64 // bytes read from r
	out spillBuffer
	err error
}

// release closes what the job still holds. It is called once no goroutine uses the job.
func (j *job) release() {
	if j.r != nil {
		_ = j.r.Close()
		j.r = nil
	}
	_ = j.out.release()
}

// closed is the done channel of entries that need no worker.
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// walk sends every entry of tree to the writer, in order, and every blob to the
// workers; it is the only user of the object store.
func (a *archiver) walk(tree plumbing.Hash) {
	defer close(a.order)
	defer close(a.work)
	a.walkErr = a.tree("", tree)
}

// tree emits the entries of tree h under prefix in the order git stores them,
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
			if err := a.emit(&job{name: name + "/", dir: true, weight: 512, done: closed}); err != nil {
				return err
			}
			err = a.tree(name+"/", e.Hash)
		case filemode.Submodule:
			err = a.emit(&job{name: name + "/", dir: true, weight: 512, done: closed})
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

// file emits blob h as name; symbolic links hold their target, stored.
func (a *archiver) file(name string, h plumbing.Hash, mode fs.FileMode) error {
	obj, err := a.objs.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return fmt.Errorf("%s: read blob %s: %w", name, h, err)
	}
	size := obj.Size()
	symlink := mode&fs.ModeSymlink != 0
	if symlink && size > maxSymlink {
		return fmt.Errorf("%s: symbolic link target of %d bytes", name, size)
	}
	method := zip.Deflate
	if size == 0 || symlink {
		method = zip.Store
	}
	r, err := obj.Reader()
	if err != nil {
		return fmt.Errorf("%s: read blob %s: %w", name, h, err)
	}

	// The weight covers a blob held in memory by the store (go-git keeps objects
	// up to its large-object threshold whole) and its compressed data.
	weight := min(min(size, 1<<20)+min(size, spillAt)+4<<10, budget)
	return a.emit(&job{name: name, mode: mode, method: method, hash: h, size: size, r: r, weight: weight,
		done: make(chan struct{}), out: spillBuffer{dir: a.tempDir, limit: spillAt}})
}

// emit waits for memory budget, then hands j to the writer and, for a blob, to the workers.
func (a *archiver) emit(j *job) error {
	if err := a.mem.Acquire(a.ctx, j.weight); err != nil {
		j.release()
		return err
	}
	select {
	case a.order <- j:
	case <-a.ctx.Done():
		j.release()
		return a.ctx.Err()
	}
	if j.done == closed {
		return nil
	}
	select {
	case a.work <- j:
		return nil
	case <-a.ctx.Done():
		return a.ctx.Err() // j is the writer's now: it releases it
	}
}
