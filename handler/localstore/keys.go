package localstore

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// maxSegment is the longest path element most file systems accept.
const maxSegment = 255

// reserved starts every name the store itself writes inside a key directory.
// A key segment that starts with it is written with the prefix doubled, so the
// mapping from keys to paths stays one to one.
const reserved = "@"

// Names the store writes inside a key directory and inside a version directory.
const (
	currentName  = reserved + "current"
	versionsName = reserved + "versions"
	dataName     = "data"
	metaName     = "meta.json"
)

// versionLayout formats version ids: fixed width, UTC, so that ids sort by time as strings.
const versionLayout = "20060102T150405.000000000Z"

// keyPath maps a store key to its directory below objects/, or returns an error wrapping
// ErrInvalidKey. Keys are slash-separated; every segment must be a plain name.
func keyPath(key string) (string, error) {
	if key == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if strings.ContainsRune(key, 0) {
		return "", fmt.Errorf("%w: contains NUL", ErrInvalidKey)
	}
	if strings.ContainsRune(key, '\\') {
		return "", fmt.Errorf("%w: contains a backslash", ErrInvalidKey)
	}
	if strings.HasPrefix(key, "/") {
		return "", fmt.Errorf("%w: absolute", ErrInvalidKey)
	}

	segs := strings.Split(key, "/")
	for i, s := range segs {
		switch s {
		case "":
			return "", fmt.Errorf("%w: empty segment", ErrInvalidKey)
		case ".", "..":
			return "", fmt.Errorf("%w: segment %q", ErrInvalidKey, s)
		}
		if strings.HasPrefix(s, reserved) {
			s = reserved + s
		}
		if len(s) > maxSegment {
			return "", fmt.Errorf("%w: segment longer than %d bytes", ErrInvalidKey, maxSegment)
		}
		segs[i] = s
	}

	p := path.Join(append([]string{objectsDir}, segs...)...)
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("%w: not a local path", ErrInvalidKey)
	}
	return p, nil
}

// checkVersion reports whether v is a version id this store could have issued,
// which also keeps version strings from naming other paths.
func checkVersion(v string) error {
	t, err := time.Parse(versionLayout, v)
	if err != nil || t.Format(versionLayout) != v {
		return fmt.Errorf("%w: %q", ErrInvalidVersion, v)
	}
	return nil
}

// versionTime is the time encoded in a valid version id.
func versionTime(v string) time.Time {
	t, _ := time.Parse(versionLayout, v)
	return t
}
