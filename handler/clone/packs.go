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

// objects is the clone's object store: go-git's, except that it rebuilds blobs
// stored as large deltas on disk (see delta.go).
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
