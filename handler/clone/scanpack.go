package clone

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/go-git/go-git/v5/plumbing"
	kflate "github.com/klauspost/compress/flate"
)

// scanPack reads f from its start, inflating every entry once: whole objects are
// hashed on the way; deltas are only located. It returns the entries in pack
// order and the offset where the trailer starts.
func scanPack(f *os.File) ([]scanned, int64, error) {
	r := &countingReader{r: bufio.NewReaderSize(io.NewSectionReader(f, 0, 1<<62), 1<<20)}
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, 0, err
	}
	if string(hdr[:4]) != "PACK" || binary.BigEndian.Uint32(hdr[4:]) != 2 {
		return nil, 0, errors.New("not a version 2 pack")
	}
	count := binary.BigEndian.Uint32(hdr[8:])
	entries := make([]scanned, 0, count)
	var fr io.ReadCloser
	buf := make([]byte, 64<<10)
	for range count {
		e := scanned{off: r.n}
		c, err := r.ReadByte()
		if err != nil {
			return nil, 0, err
		}
		e.typ = (c >> 4) & 7
		size := int64(c & 15)
		for shift := 4; c&0x80 != 0; shift += 7 {
			if c, err = r.ReadByte(); err != nil || shift > 56 {
				return nil, 0, errDeltaCorrupt
			}
			size |= int64(c&0x7f) << shift
		}
		switch e.typ {
		case packOfsDelta:
			for c, err = r.ReadByte(); err == nil && c&0x80 != 0; c, err = r.ReadByte() {
			}
		case packRefDelta:
			_, err = io.ReadFull(r, buf[:20])
		}
		if err != nil {
			return nil, 0, err
		}

		if _, err := io.ReadFull(r, buf[:zlibHdr]); err != nil {
			return nil, 0, err
		}
		if fr == nil {
			fr = kflate.NewReader(r)
		} else if err := fr.(kflate.Resetter).Reset(r, nil); err != nil {
			return nil, 0, err
		}
		var dst io.Writer = io.Discard
		var hasher plumbing.Hasher
		if e.typ != packOfsDelta && e.typ != packRefDelta {
			hasher = plumbing.NewHasher(plumbing.ObjectType(e.typ), size)
			dst = hasher
		}
		n, err := io.CopyBuffer(dst, fr, buf)
		if err != nil {
			return nil, 0, fmt.Errorf("entry at %d: %w", e.off, err)
		}
		if n != size {
			return nil, 0, fmt.Errorf("entry at %d: %d bytes, header says %d", e.off, n, size)
		}
		if _, err := io.ReadFull(r, buf[:zlibTail]); err != nil {
			return nil, 0, err
		}
		if dst != io.Discard {
			e.hash = hasher.Sum()
		}
		entries = append(entries, e)
	}
	return entries, r.n, nil
}

// countingReader counts the bytes consumed through it; as an io.ByteReader it
// lets the inflater stop exactly at the end of each stream.
type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}
