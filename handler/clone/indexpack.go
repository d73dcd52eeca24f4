package clone

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// go-git indexes a received pack by holding every delta's base and target in
// memory, which takes hundreds of megabytes and minutes for a pack with large
// deltas. The clone takes the pack itself instead: fetchStorage writes it to a
// file, then indexes it with bounded memory (whole objects are hashed as they
// are inflated; deltas are rebuilt through temporary files as Reader does) and
// writes the pack and its index where go-git's store finds them.

// fetchStorage is the clone's store during the fetch; only PackfileWriter differs.
type fetchStorage struct {
	*filesystem.Storage
	gitDir string
}

// PackfileWriter returns a writer that keeps the pack and indexes it on Close.
func (s *fetchStorage) PackfileWriter() (io.WriteCloser, error) {
	dir := filepath.Join(s.gitDir, "objects", "pack")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "tmp-pack-*")
	if err != nil {
		return nil, err
	}
	w := &packWriter{f: f, dir: dir, tmp: s.gitDir, storage: s.Storage, sum: sha1.New()}
	w.buf = bufio.NewWriterSize(io.MultiWriter(f, (*trailingHash)(w)), 1<<20)
	return w, nil
}

// packWriter writes the pack to a temporary file, hashing all but its last 20 bytes.
type packWriter struct {
	f       *os.File
	buf     *bufio.Writer
	dir     string
	tmp     string
	storage *filesystem.Storage
	sum     hash.Hash
	tail    []byte // the last 20 bytes seen, not hashed yet
}

// trailingHash feeds the pack hash everything but the 20 bytes of the pack's own trailer.
type trailingHash packWriter

func (t *trailingHash) Write(p []byte) (int, error) {
	t.tail = append(t.tail, p...)
	if n := len(t.tail) - 20; n > 0 {
		t.sum.Write(t.tail[:n])
		t.tail = append(t.tail[:0], t.tail[n:]...)
	}
	return len(p), nil
}

func (w *packWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }

// Close indexes the pack and moves it and its index into place.
func (w *packWriter) Close() (err error) {
	defer func() {
		if err != nil {
			_ = w.f.Close()
			_ = os.Remove(w.f.Name())
		}
	}()
	if err := w.buf.Flush(); err != nil {
		return err
	}
	if len(w.tail) != 20 || !bytes.Equal(w.sum.Sum(nil), w.tail) {
		return errors.New("pack checksum mismatch")
	}
	var sum plumbing.Hash
	copy(sum[:], w.tail)

	idx, err := indexPack(w.f, sum, w.tmp)
	if err != nil {
		return fmt.Errorf("index pack: %w", err)
	}
	base := filepath.Join(w.dir, "pack-"+sum.String())
	out, err := os.Create(base + ".idx")
	if err != nil {
		return err
	}
	if _, err := idxfile.NewEncoder(out).Encode(idx); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	if err := os.Rename(w.f.Name(), base+".pack"); err != nil {
		return err
	}
	w.storage.Reindex()
	return nil
}

// scanned is one entry found by the sequential scan of a pack.
type scanned struct {
	off  int64
	typ  byte
	hash plumbing.Hash // zero for a delta until it is rebuilt
}

// indexPack hashes every object of the pack in f and returns its index.
func indexPack(f *os.File, sum plumbing.Hash, tmp string) (*idxfile.MemoryIndex, error) {
	entries, end, err := scanPack(f)
	if err != nil {
		return nil, err
	}
	p := &pack{f: f, offsets: make([]int64, 0, len(entries)+1)}
	byHash := make(map[plumbing.Hash]int64, len(entries))
	for _, e := range entries {
		p.offsets = append(p.offsets, e.off)
		if !e.hash.IsZero() {
			byHash[e.hash] = e.off
		}
	}
	p.offsets = append(p.offsets, end)
	p.lookup = func(h plumbing.Hash) (int64, error) {
		if off, ok := byHash[h]; ok {
			return off, nil
		}
		return 0, fmt.Errorf("%w: %s", plumbing.ErrObjectNotFound, h)
	}

	// Deltas whose base is a REF_DELTA not rebuilt yet wait for a later pass.
	for pending := true; pending; {
		pending = false
		progress := false
		for i := range entries {
			e := &entries[i]
			if !e.hash.IsZero() {
				continue
			}
			h, err := p.hashDelta(e.off, tmp)
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				pending = true
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("delta at %d: %w", e.off, err)
			}
			e.hash, byHash[h], progress = h, e.off, true
		}
		if pending && !progress {
			return nil, errors.New("delta base missing from the pack")
		}
	}

	w := new(idxfile.Writer)
	if err := w.OnHeader(uint32(len(entries))); err != nil {
		return nil, err
	}
	buf := make([]byte, 256<<10)
	for i, e := range entries {
		crc := crc32.NewIEEE()
		if _, err := io.CopyBuffer(crc, io.NewSectionReader(f, e.off, p.offsets[i+1]-e.off), buf); err != nil {
			return nil, err
		}
		w.Add(e.hash, uint64(e.off), crc.Sum32())
	}
	if err := w.OnFooter(sum); err != nil {
		return nil, err
	}
	return w.Index()
}

// hashDelta rebuilds the delta at off and returns the hash of the object it makes.
func (p *pack) hashDelta(off int64, tmp string) (plumbing.Hash, error) {
	typ, err := p.chainType(off)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	obj, size, err := p.resolve(off, tmp, 0)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer obj.Close()
	hasher := plumbing.NewHasher(typ, size)
	if _, err := io.Copy(hasher, obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return hasher.Sum(), nil
}

// chainType returns the type of the object a delta chain ends in.
func (p *pack) chainType(off int64) (plumbing.ObjectType, error) {
	for range maxChain {
		e, err := p.entryAt(off)
		if err != nil {
			return plumbing.InvalidObject, err
		}
		if e.typ != packOfsDelta && e.typ != packRefDelta {
			return plumbing.ObjectType(e.typ), nil
		}
		off = e.baseOff
	}
	return plumbing.InvalidObject, fmt.Errorf("delta chain deeper than %d", maxChain)
}
