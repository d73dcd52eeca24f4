package archive

import (
	"archive/zip"
	"compress/flate"
	"io"
	"sync"

	kflate "github.com/klauspost/compress/flate"
)

// codec is a deflate implementation whose writers are pooled per level, so an
// archive of many small files does not allocate a compressor per file.
type codec interface {
	compressor(level int) zip.Compressor
}

// flateWriter is what both deflate implementations provide.
type flateWriter interface {
	io.WriteCloser
	Reset(w io.Writer)
}

type pooledCodec struct {
	newWriter func(level int) flateWriter
	pools     [10]sync.Pool // by level
}

var (
	klauspostCodec codec = newPooledCodec(func(level int) flateWriter {
		w, _ := kflate.NewWriter(io.Discard, level) // fails only for a bad level, checked by Write
		return w
	})
	stdlibCodec codec = newPooledCodec(func(level int) flateWriter {
		w, _ := flate.NewWriter(io.Discard, level)
		return w
	})
)

func newPooledCodec(newWriter func(level int) flateWriter) *pooledCodec {
	return &pooledCodec{newWriter: newWriter}
}

func (c *pooledCodec) compressor(level int) zip.Compressor {
	pool := &c.pools[level]
	return func(w io.Writer) (io.WriteCloser, error) {
		fw, ok := pool.Get().(flateWriter)
		if !ok {
			fw = c.newWriter(level)
		}
		fw.Reset(w)
		return &pooledWriter{flateWriter: fw, pool: pool}, nil
	}
}

// pooledWriter returns its compressor to the pool when closed.
type pooledWriter struct {
	flateWriter
	pool *sync.Pool
}

func (p *pooledWriter) Close() error {
	err := p.flateWriter.Close()
	p.pool.Put(p.flateWriter)
	p.flateWriter = nil
	return err
}
