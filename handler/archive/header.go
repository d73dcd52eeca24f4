package archive

import (
	"archive/zip"
	"io/fs"
	"unicode/utf8"
)

// header is the zip header of an entry, as git archive would date and mark it.
func (a *archiver) header(name string, mode fs.FileMode, method uint16) *zip.FileHeader {
	fh := &zip.FileHeader{Name: name, Method: method, Modified: a.modified}
	fh.SetMode(mode) // also marks the entry as made on Unix
	return fh
}

// rawHeader completes fh the way zip.Writer.CreateHeader would, for CreateRaw:
// entries whose data a worker compressed carry the same fields, byte for byte, as
// entries compressed by the zip.Writer itself.
func rawHeader(fh *zip.FileHeader, crc uint32, compressed, size int64) {
	if utf8.ValidString(fh.Name) && needsUTF8(fh.Name) {
		fh.Flags |= 0x800
	}
	fh.CreatorVersion = fh.CreatorVersion&0xff00 | 20
	fh.ReaderVersion = 20
	if !fh.Modified.IsZero() {
		//lint:ignore SA1019 CreateRaw writes the MS-DOS date and time as given, so they are set as CreateHeader would.
		fh.ModifiedDate, fh.ModifiedTime = msDOSTime(fh)
		var ext [9]byte
		mt := uint32(fh.Modified.Unix())
		ext[0], ext[1] = 0x55, 0x54 // extended timestamp
		ext[2], ext[3] = 5, 0
		ext[4] = 1 // modification time present
		ext[5], ext[6], ext[7], ext[8] = byte(mt), byte(mt>>8), byte(mt>>16), byte(mt>>24)
		fh.Extra = append(fh.Extra, ext[:]...)
	}
	fh.Flags |= 0x8 // sizes and CRC in a data descriptor, as CreateHeader writes them
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
