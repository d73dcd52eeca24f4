package clone

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	kflate "github.com/klauspost/compress/flate"
)

// go-git rebuilds a delta larger than its large-object threshold through a
// pipe, re-reading the base from its start whenever a copy goes backwards, which
// takes minutes for a delta of tens of megabytes. The clone rebuilds such deltas
// itself: the base into an unlinked temporary file, then the target into another,
// so memory stays bounded by a window and a buffer whatever the object's size.

// Pack object types of deltas.
const (
	packOfsDelta = 6
	packRefDelta = 7
	maxChain     = 100 // deeper delta chains than git ever makes are refused
	baseWindow   = 1 << 20
)

var errDeltaCorrupt = errors.New("corrupt delta")

// EncodedObject returns the object h. A blob stored as a large delta is rebuilt
// on disk when read; everything else comes from go-git's store.
func (o *objects) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	if t == plumbing.BlobObject || t == plumbing.AnyObject {
		for _, p := range o.packs {
			off, err := p.idx.FindOffset(h)
			if err != nil {
				continue
			}
			if obj, ok := p.largeDelta(h, off, o.tmp); ok {
				return obj, nil
			}
			break
		}
	}
	return o.Storage.EncodedObject(t, h)
}

// entry is the header of one pack entry.
type entry struct {
	typ      byte
	size     int64 // inflated size of the entry's data (the delta for a delta)
	data     int64 // offset of the zlib stream
	baseOff  int64 // for a delta, where its base is
	baseHash plumbing.Hash
}

// entryAt reads the header of the entry at off.
func (p *pack) entryAt(off int64) (entry, error) {
	var hdr [40]byte
	n, err := p.f.ReadAt(hdr[:], off)
	if err != nil && !errors.Is(err, io.EOF) {
		return entry{}, err
	}
	b := hdr[:n]
	if len(b) == 0 {
		return entry{}, errDeltaCorrupt
	}
	e := entry{typ: (b[0] >> 4) & 7, size: int64(b[0] & 15)}
	i, shift := 1, 4
	for c := b[0]; c&0x80 != 0; i++ {
		if i >= len(b) || shift > 56 {
			return entry{}, errDeltaCorrupt
		}
		c = b[i]
		e.size |= int64(c&0x7f) << shift
		shift += 7
	}
	switch e.typ {
	case packOfsDelta:
		if i >= len(b) {
			return entry{}, errDeltaCorrupt
		}
		c := b[i]
		rel := int64(c & 0x7f)
		for i++; c&0x80 != 0; i++ {
			if i >= len(b) {
				return entry{}, errDeltaCorrupt
			}
			c = b[i]
			rel = (rel+1)<<7 | int64(c&0x7f)
		}
		e.baseOff = off - rel
	case packRefDelta:
		if i+20 > len(b) {
			return entry{}, errDeltaCorrupt
		}
		copy(e.baseHash[:], b[i:i+20])
		i += 20
		bo, err := p.findOffset(e.baseHash)
		if err != nil {
			return entry{}, fmt.Errorf("delta base %s: %w", e.baseHash, err)
		}
		e.baseOff = bo
	}
	e.data = off + int64(i)
	return e, nil
}

// Buffers and inflaters are pooled: a pack has thousands of small deltas, and
// allocating them per object made most of the clone's garbage.
var (
	readerPool   = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}
	writerPool   = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 256<<10) }}
	windowPool   = sync.Pool{New: func() any { b := make([]byte, baseWindow); return &b }}
	inflaterPool sync.Pool
)

// inflate returns a reader of the entry's inflated data and a function that
// releases it.
func (p *pack) inflate(e entry, off int64) (*bufio.Reader, func(), error) {
	i, found := slicesIndex(p.offsets, off)
	if !found {
		return nil, nil, fmt.Errorf("entry at %d: not indexed", off)
	}
	src := io.NewSectionReader(p.f, e.data+zlibHdr, p.offsets[i+1]-e.data-zlibHdr)
	fr, ok := inflaterPool.Get().(io.ReadCloser)
	if ok {
		if err := fr.(kflate.Resetter).Reset(src, nil); err != nil {
			return nil, nil, err
		}
	} else {
		fr = kflate.NewReader(src)
	}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(fr)
	return br, func() {
		br.Reset(nil)
		readerPool.Put(br)
		inflaterPool.Put(fr)
	}, nil
}

// largeDelta returns the blob h at off as an object rebuilt on read, when it is a
// delta of a blob whose target is at least largeObject bytes.
func (p *pack) largeDelta(h plumbing.Hash, off int64, tmp string) (plumbing.EncodedObject, bool) {
	e, err := p.entryAt(off)
	if err != nil || (e.typ != packOfsDelta && e.typ != packRefDelta) {
		return nil, false
	}
	r, done, err := p.inflate(e, off)
	if err != nil {
		return nil, false
	}
	_, err1 := readVarint(r)
	size, err2 := readVarint(r)
	done()
	if err1 != nil || err2 != nil || size < largeObject {
		return nil, false
	}

	base := e
	for depth := 0; base.typ == packOfsDelta || base.typ == packRefDelta; depth++ {
		if depth > maxChain {
			return nil, false
		}
		if base, err = p.entryAt(base.baseOff); err != nil {
			return nil, false
		}
	}
	if base.typ != packBlob {
		return nil, false
	}
	return &deltaBlob{hash: h, size: size, pack: p, off: off, tmp: tmp}, true
}
