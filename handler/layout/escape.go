package layout

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

const hexDigits = "0123456789ABCDEF"

// escape writes s as one key segment: '%', '/', control characters and bytes that are
// not UTF-8 become "%XX". With dot, a leading '.' is escaped too, so the segment can never
// be "." or ".." or a hidden directory in the data directory.
func escape(s string, dot bool) string {
	if !needsEscape(s, dot) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if escapeRune(r, n) || (dot && i == 0 && r == '.') {
			for j := i; j < i+n; j++ {
				b.WriteByte('%')
				b.WriteByte(hexDigits[s[j]>>4])
				b.WriteByte(hexDigits[s[j]&0xf])
			}
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// escapeRune reports whether the rune r, read from n bytes, is written escaped.
func escapeRune(r rune, n int) bool {
	return r == '%' || r == '/' || unicode.IsControl(r) || (r == utf8.RuneError && n == 1)
}

// needsEscape reports whether escape would change s.
func needsEscape(s string, dot bool) bool {
	if dot && strings.HasPrefix(s, ".") {
		return true
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if escapeRune(r, n) {
			return true
		}
		i += n
	}
	return false
}

// unescape decodes "%XX" sequences (upper-case hex). Whether the escaping was canonical is
// checked by the caller, which writes the key again and compares.
func unescape(seg string) (string, error) {
	if !strings.Contains(seg, "%") {
		return seg, nil
	}
	var b strings.Builder
	for i := 0; i < len(seg); i++ {
		if seg[i] != '%' {
			b.WriteByte(seg[i])
			continue
		}
		if i+2 >= len(seg) {
			return "", errors.New("truncated escape")
		}
		hi, lo := strings.IndexByte(hexDigits, seg[i+1]), strings.IndexByte(hexDigits, seg[i+2])
		if hi < 0 || lo < 0 {
			return "", fmt.Errorf("bad escape %q", seg[i:i+3])
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return b.String(), nil
}
