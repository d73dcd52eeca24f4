package archive

import (
	"archive/zip"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"sync"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/plumbing"
	kflate "github.com/klauspost/compress/flate"
)

// DeflatedBlobs is the optional ability of an object store to hand out a blob as
// the raw deflate stream it keeps (the zlib stream of a packed object without its
// two-byte header and Adler-32 trailer). Write copies such a stream into the zip
// as the entry's data instead of inflating and compressing it again; it still
// inflates it once to compute the CRC-32 and check the size. The clone package's
// store has this ability for every blob the server sent whole.
type DeflatedBlobs interface {
	// DeflatedBlob returns the deflate stream of blob h and the blob's size, or
	// ok false when h is not stored as one such stream (a delta, for example).
	// It is safe for concurrent use.
	DeflatedBlob(h plumbing.Hash) (stream *io.SectionReader, size int64, ok bool, err error)
}

// inflaters are pooled klauspost inflaters, reset for every stream.
var inflaters sync.Pool

// deflatedCRC inflates stream to compute the CRC-32 of the blob and checks its size.
func deflatedCRC(stream *io.SectionReader, size int64, buf []byte) (uint32, error) {
	src := io.NewSectionReader(stream, 0, stream.Size())
	fr, ok := inflaters.Get().(io.ReadCloser)
	if ok {
		if err := fr.(kflate.Resetter).Reset(src, nil); err != nil {
			return 0, err
		}
	} else {
		fr = kflate.NewReader(src)
	}
	defer inflaters.Put(fr)

	h := crc32.NewIEEE()
	n, err := io.CopyBuffer(h, fr, buf)
	if err != nil {
		return 0, fmt.Errorf("inflate: %w", err)
	}
	if n != size {
		return 0, fmt.Errorf("inflated %d bytes, want %d", n, size)
	}
	return h.Sum32(), nil
}

// rawHeader completes fh the way zip.Writer.CreateHeader would, for CreateRaw,
// so entries copied raw carry the same fields as compressed ones.
func rawHeader(fh *zip.FileHeader, crc uint32, compressed, size int64) {
	if utf8.ValidString(fh.Name) && needsUTF8(fh.Name) {
		fh.Flags |= 0x800
	}
	fh.CreatorVersion = fh.CreatorVersion&0xff00 | 20
	fh.ReaderVersion = 20
	fh.ModifiedDate, fh.ModifiedTime = msDOSTime(fh)
	var ext [9]byte
	mt := uint32(fh.Modified.Unix())
	ext[0], ext[1] = 0x55, 0x54 // extended timestamp
	ext[2], ext[3] = 5, 0
	ext[4] = 1 // modification time present
	ext[5], ext[6], ext[7], ext[8] = byte(mt), byte(mt>>8), byte(mt>>16), byte(mt>>24)
	fh.Extra = append(fh.Extra, ext[:]...)
	fh.Flags |= 0x8 // sizes and CRC in a data descriptor, as for compressed entries
	fh.CRC32 = crc
	fh.CompressedSize64 = uint64(compressed)
	fh.UncompressedSize64 = uint64(size)
}

// needsUTF8 reports whether name has a character that legacy zip readers may
// take for another one, so the entry must be marked UTF-8 (as archive/zip does).
func needsUTF8(name string) bool {
	for _, r := range name {
		if r < 0x20 || r > 0x7d || r == '\\' {
			return true
		}
	}
	return false
}

// msDOSTime encodes fh.Modified as the MS-DOS date and time of the zip headers.
func msDOSTime(fh *zip.FileHeader) (date, clock uint16) {
	t := fh.Modified
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	clock = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, clock
}

// rawFile writes blob h as name by copying its deflate stream; ok is false when
// the store does not keep h that way and the caller must compress it.
func (a *archiver) rawFile(name string, h plumbing.Hash, mode fs.FileMode) (ok bool, err error) {
	stream, size, ok, err := a.deflated.DeflatedBlob(h)
	if err != nil || !ok {
		return false, err
	}
	if size == 0 {
		return false, nil // stored empty, like every empty file
	}
	crc, err := deflatedCRC(stream, size, a.buf)
	if err != nil {
		return true, fmt.Errorf("%s: blob %s: %w", name, h, err)
	}

	fh := a.header(name, mode, zip.Deflate)
	rawHeader(fh, crc, stream.Size(), size)
	w, err := a.zw.CreateRaw(fh)
	if err != nil {
		return true, fmt.Errorf("%s: %w", name, err)
	}
	if _, err := io.CopyBuffer(w, &ctxReader{ctx: a.ctx, r: io.NewSectionReader(stream, 0, stream.Size())},
		a.buf); err != nil {
		return true, fmt.Errorf("%s: %w", name, err)
	}
	a.stats.Files++
	a.stats.Bytes += size
	return true, nil
}
