package clone

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// objects is the clone's object store with one ability more than go-git's: it
// hands out a blob stored whole in a pack as the raw deflate stream the server
// sent, so the archive can copy it into the zip instead of compressing it again.
type objects struct {
	*filesystem.Storage
	packs []*pack
	tmp   string // where large deltas are rebuilt
}

// pack is one packfile of the clone, opened for concurrent ReadAt, with its index.
type pack struct {
	f       *os.File
	idx     *idxfile.MemoryIndex
	offsets []int64 // object offsets in ascending order, then the offset of the trailer

	// lookup finds an object's offset while the pack is being indexed; nil means idx.
	lookup func(plumbing.Hash) (int64, error)
}

// findOffset returns the offset of object h in the pack.
func (p *pack) findOffset(h plumbing.Hash) (int64, error) {
	if p.lookup != nil {
		return p.lookup(h)
	}
	return p.idx.FindOffset(h)
}

// Pack object types (gitformat-pack) this file needs.
const (
	packBlob = 3
	zlibHdr  = 2 // CMF and FLG
	zlibTail = 4 // Adler-32
)

// openPacks opens the packfiles under gitDir/objects/pack with their indexes.
func openPacks(st *filesystem.Storage, gitDir string) (packs []*pack, err error) {
	hashes, err := st.ObjectPacks()
	if err != nil {
		return nil, fmt.Errorf("list packs: %w", err)
	}
	defer func() {
		if err != nil {
			closePacks(packs)
		}
	}()
	for _, h := range hashes {
		base := filepath.Join(gitDir, "objects", "pack", "pack-"+h.String())
		p, err := openPack(base)
		if err != nil {
			return packs, fmt.Errorf("open pack %s: %w", h, err)
		}
		packs = append(packs, p)
	}
	return packs, nil
}

func openPack(base string) (*pack, error) {
	raw, err := os.ReadFile(base + ".idx")
	if err != nil {
		return nil, err
	}
	idx := idxfile.NewMemoryIndex()
	if err := idxfile.NewDecoder(bytes.NewReader(raw)).Decode(idx); err != nil {
		return nil, fmt.Errorf("decode index: %w", err)
	}
	f, err := os.Open(base + ".pack")
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}

	iter, err := idx.EntriesByOffset()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	defer iter.Close()
	var offsets []int64
	for {
		e, err := iter.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			_ = f.Close()
			return nil, err
		}
		offsets = append(offsets, int64(e.Offset))
	}
	slices.Sort(offsets)
	offsets = append(offsets, fi.Size()-20) // the trailer is a SHA-1 of the pack
	return &pack{f: f, idx: idx, offsets: offsets}, nil
}

func closePacks(packs []*pack) error {
	var errs []error
	for _, p := range packs {
		errs = append(errs, p.f.Close())
	}
	return errors.Join(errs...)
}

// DeflatedBlob returns the raw deflate stream of blob h as stored in the clone's
// pack, and the blob's size. ok is false when h is not stored whole in a pack
// (a delta, or not there at all); EncodedObject still reads it then.
func (o *objects) DeflatedBlob(h plumbing.Hash) (stream *io.SectionReader, size int64, ok bool, err error) {
	for _, p := range o.packs {
		off, err := p.idx.FindOffset(h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			continue
		}
		if err != nil {
			return nil, 0, false, fmt.Errorf("find %s: %w", h, err)
		}
		return p.deflated(h, off)
	}
	return nil, 0, false, nil
}

func (p *pack) deflated(h plumbing.Hash, off int64) (*io.SectionReader, int64, bool, error) {
	i, found := slices.BinarySearch(p.offsets, off)
	if !found || i+1 >= len(p.offsets) {
		return nil, 0, false, fmt.Errorf("object %s at %d: offset not indexed", h, off)
	}
	end := p.offsets[i+1]

	var hdr [16 + zlibHdr]byte
	n, err := p.f.ReadAt(hdr[:], off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, false, fmt.Errorf("object %s: %w", h, err)
	}
	b := hdr[:n]
	if len(b) == 0 {
		return nil, 0, false, fmt.Errorf("object %s: empty header", h)
	}
	typ, size, shift, used := (b[0]>>4)&7, int64(b[0]&15), 4, 1
	for c := b[0]; c&0x80 != 0; used++ {
		if used >= len(b) || shift > 56 {
			return nil, 0, false, fmt.Errorf("object %s: bad header", h)
		}
		c = b[used]
		size |= int64(c&0x7f) << shift
		shift += 7
	}
	if typ != packBlob {
		return nil, 0, false, nil // a delta: only go-git can rebuild it
	}
	start := off + int64(used)
	if used+zlibHdr > len(b) || b[used]&0x0f != 8 || b[used+1]&0x20 != 0 || end-start < zlibHdr+zlibTail {
		return nil, 0, false, nil // not plain zlib deflate: leave it to go-git
	}
	start += zlibHdr
	return io.NewSectionReader(p.f, start, end-zlibTail-start), size, true, nil
}
