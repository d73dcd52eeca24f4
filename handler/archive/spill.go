package archive

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
)

// buffers are the in-memory halves of spill buffers, reused across entries:
// most entries of a source tree compress to a few kilobytes.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// spillBuffer holds the compressed data of one entry until the writer reaches it:
// in memory up to limit bytes, then in an unlinked temporary file in dir.
type spillBuffer struct {
	dir   string
	limit int
	mem   *bytes.Buffer
	file  *os.File
	n     int64
}

func (b *spillBuffer) Write(p []byte) (int, error) {
	if b.file == nil {
		if b.mem == nil {
			b.mem = buffers.Get().(*bytes.Buffer)
		}
		if b.mem.Len()+len(p) <= b.limit {
			n, _ := b.mem.Write(p)
			b.n += int64(n)
			return n, nil
		}
		if err := b.spill(); err != nil {
			return 0, err
		}
	}
	n, err := b.file.Write(p)
	b.n += int64(n)
	return n, err
}

// spill moves the data held in memory to a new temporary file.
func (b *spillBuffer) spill() error {
	f, err := os.CreateTemp(b.dir, "archive-*.deflate")
	if err != nil {
		return fmt.Errorf("spill compressed data: %w", err)
	}
	_ = os.Remove(f.Name()) // unlinked: closing the file frees its space, whatever happens
	b.file = f
	_, err = b.mem.WriteTo(f)
	b.putMem()
	return err
}

// WriteTo writes the buffered data to w.
func (b *spillBuffer) WriteTo(w io.Writer) (int64, error) {
	switch {
	case b.file != nil:
		return io.Copy(w, io.NewSectionReader(b.file, 0, b.n))
	case b.mem != nil:
		return b.mem.WriteTo(w)
	}
	return 0, nil
}

// release frees the memory and the file of b.
func (b *spillBuffer) release() error {
	b.putMem()
	var err error
	if b.file != nil {
		err = b.file.Close()
		b.file = nil
	}
	return err
}

func (b *spillBuffer) putMem() {
	if b.mem == nil {
		return
	}
	if b.mem.Cap() <= b.limit {
		b.mem.Reset()
		buffers.Put(b.mem)
	}
	b.mem = nil
}
