package clone

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
)

// deltaBlob is a blob stored as a large delta, rebuilt on disk by Reader.
type deltaBlob struct {
	hash plumbing.Hash
	size int64
	pack *pack
	off  int64
	tmp  string
}

func (d *deltaBlob) Hash() plumbing.Hash         { return d.hash }
func (d *deltaBlob) Type() plumbing.ObjectType   { return plumbing.BlobObject }
func (d *deltaBlob) SetType(plumbing.ObjectType) {}
func (d *deltaBlob) Size() int64                 { return d.size }
func (d *deltaBlob) SetSize(int64)               {}
func (d *deltaBlob) Writer() (io.WriteCloser, error) {
	return nil, errors.New("clone: objects are read-only")
}

// Reader rebuilds the blob into an unlinked temporary file and returns it, rewound.
func (d *deltaBlob) Reader() (io.ReadCloser, error) {
	f, size, err := d.pack.resolve(d.off, d.tmp, 0)
	if err != nil {
		return nil, fmt.Errorf("rebuild delta %s: %w", d.hash, err)
	}
	if size != d.size {
		_ = f.Close()
		return nil, fmt.Errorf("rebuild delta %s: %d bytes, want %d", d.hash, size, d.size)
	}
	return f, nil
}

// resolve writes the content of the entry at off into an unlinked temporary file
// in dir and returns the file rewound to its start, with its size.
func (p *pack) resolve(off int64, dir string, depth int) (f *os.File, size int64, err error) {
	if depth > maxChain {
		return nil, 0, fmt.Errorf("delta chain deeper than %d", maxChain)
	}
	e, err := p.entryAt(off)
	if err != nil {
		return nil, 0, err
	}
	var base *os.File
	if e.typ == packOfsDelta || e.typ == packRefDelta {
		if base, _, err = p.resolve(e.baseOff, dir, depth+1); err != nil {
			return nil, 0, err
		}
		defer base.Close()
	}

	f, err = os.CreateTemp(dir, "object-*")
	if err != nil {
		return nil, 0, err
	}
	_ = os.Remove(f.Name()) // freed on Close
	defer func() {
		if err != nil {
			_ = f.Close()
		}
	}()
	src, done, err := p.inflate(e, off)
	if err != nil {
		return nil, 0, err
	}
	defer done()
	w := writerPool.Get().(*bufio.Writer)
	w.Reset(f)
	defer func() {
		w.Reset(nil)
		writerPool.Put(w)
	}()
	if base == nil {
		size, err = io.Copy(w, src)
	} else {
		win := &window{f: base}
		size, err = applyDelta(w, win, src)
		win.release()
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	return f, size, err
}

// applyDelta writes to w the target of the git delta read from delta, copying from base.
func applyDelta(w io.Writer, base *window, delta io.ByteReader) (int64, error) {
	if _, err := readVarint(delta); err != nil {
		return 0, err
	}
	size, err := readVarint(delta)
	if err != nil {
		return 0, err
	}
	var written int64
	var lit [127]byte
	for written < size {
		op, err := delta.ReadByte()
		if err != nil {
			return written, fmt.Errorf("%w: %v", errDeltaCorrupt, err)
		}
		switch {
		case op&0x80 != 0:
			var offset, n int64
			for i := range 4 {
				if op&(1<<i) != 0 {
					b, err := delta.ReadByte()
					if err != nil {
						return written, errDeltaCorrupt
					}
					offset |= int64(b) << (8 * i)
				}
			}
			for i := range 3 {
				if op&(0x10<<i) != 0 {
					b, err := delta.ReadByte()
					if err != nil {
						return written, errDeltaCorrupt
					}
					n |= int64(b) << (8 * i)
				}
			}
			if n == 0 {
				n = 0x10000
			}
			if err := base.copyTo(w, offset, n); err != nil {
				return written, err
			}
			written += n
		case op != 0:
			for i := range int(op) {
				b, err := delta.ReadByte()
				if err != nil {
					return written, errDeltaCorrupt
				}
				lit[i] = b
			}
			if _, err := w.Write(lit[:op]); err != nil {
				return written, err
			}
			written += int64(op)
		default:
			return written, errDeltaCorrupt
		}
	}
	if written != size {
		return written, errDeltaCorrupt
	}
	return written, nil
}

// window reads a file through a buffer of baseWindow bytes, so the many short
// copies of a delta cost a memory copy each rather than a system call.
type window struct {
	f      *os.File
	pooled *[]byte
	buf    []byte
	start  int64
}

func (w *window) copyTo(dst io.Writer, off, n int64) error {
	for n > 0 {
		if off < w.start || off >= w.start+int64(len(w.buf)) {
			if w.pooled == nil {
				w.pooled = windowPool.Get().(*[]byte)
				w.buf = *w.pooled
			}
			m, err := w.f.ReadAt(w.buf[:cap(w.buf)], off)
			if m == 0 {
				return fmt.Errorf("%w: copy beyond the base: %v", errDeltaCorrupt, err)
			}
			w.buf, w.start = w.buf[:m], off
		}
		chunk := w.buf[off-w.start:]
		chunk = chunk[:min(int64(len(chunk)), n)]
		if _, err := dst.Write(chunk); err != nil {
			return err
		}
		off += int64(len(chunk))
		n -= int64(len(chunk))
	}
	return nil
}

// release returns the window's buffer to the pool.
func (w *window) release() {
	if w.pooled != nil {
		windowPool.Put(w.pooled)
		w.pooled, w.buf = nil, nil
	}
}

// readVarint reads the little-endian base-128 sizes at the start of a delta.
func readVarint(r io.ByteReader) (int64, error) {
	var v int64
	for shift := 0; shift < 63; shift += 7 {
		b, err := r.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("%w: %v", errDeltaCorrupt, err)
		}
		v |= int64(b&0x7f) << shift
		if b&0x80 == 0 {
			return v, nil
		}
	}
	return 0, errDeltaCorrupt
}

func slicesIndex(offsets []int64, off int64) (int, bool) {
	i, found := slices.BinarySearch(offsets, off)
	return i, found && i+1 < len(offsets)
}
