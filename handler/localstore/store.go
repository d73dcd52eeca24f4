// Package localstore keeps archives in a local data directory that behaves like a
// versioned bucket: every Put adds a version, nothing is overwritten, and each key
// has a current version.
//
// Layout of the data directory:
//
//	objects/<key>/@current                     id of the current version
//	objects/<key>/@versions/<version>/data      the archive, byte for byte
//	objects/<key>/@versions/<version>/meta.json sidecar: key, version, size, sha256, time, Meta
//	tmp/                                        uploads in progress; emptied by Open
//
// A key segment that starts with "@" is stored with the "@" doubled, so keys and the
// store's own names never collide. All file access goes through an os.Root, so no key
// or version string can reach outside the directory, not even through a symlink.
//
// A Put streams into tmp/, fsyncs, and publishes the version with one rename of its
// directory; the current pointer is then replaced by another rename. One process
// should own a data directory at a time: the locks that order Puts to one key are
// held in memory.
package localstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

// Errors returned for arguments the store refuses.
var (
	// ErrInvalidKey is returned for keys that are empty, absolute, contain NUL, a
	// backslash, empty segments or "." and ".." segments, or overlong segments.
	ErrInvalidKey = errors.New("invalid key")

	// ErrInvalidVersion is returned for version strings the store never issues.
	ErrInvalidVersion = errors.New("invalid version")
)

const (
	objectsDir = "objects"
	tmpDir     = "tmp"
	dirPerm    = 0o750
	filePerm   = 0o640
	lockStripe = 64
)

var (
	_ pipeline.Store  = (*Store)(nil)
	_ pipeline.Opener = (*Store)(nil)
)

// Store is a versioned object store in a local directory. It is safe for concurrent use.
type Store struct {
	root *os.Root

	// locks serialise publishing per key (striped by key hash); uploads run in parallel.
	locks [lockStripe]sync.Mutex

	clock  func() time.Time
	idMu   sync.Mutex
	lastID time.Time
	tmpSeq atomic.Uint64
}

// Open opens (creating if needed) the data directory dir and removes uploads a
// previous process left unfinished.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("localstore: open %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("localstore: open %s: %w", dir, err)
	}
	s := &Store{root: root, clock: time.Now}

	for _, d := range []string{objectsDir, tmpDir} {
		if err := root.MkdirAll(d, dirPerm); err != nil {
			_ = root.Close()
			return nil, fmt.Errorf("localstore: open %s: %w", dir, err)
		}
	}
	if err := s.clearTmp(); err != nil {
		_ = root.Close()
		return nil, fmt.Errorf("localstore: open %s: %w", dir, err)
	}
	return s, nil
}

// Close releases the directory handle. Calls in flight may fail afterwards.
func (s *Store) Close() error {
	if err := s.root.Close(); err != nil {
		return fmt.Errorf("localstore: close: %w", err)
	}
	return nil
}

// Head returns the current version of key without reading the archive.
func (s *Store) Head(ctx context.Context, key string) (pipeline.Object, error) {
	if err := ctx.Err(); err != nil {
		return pipeline.Object{}, fmt.Errorf("localstore: head %s: %w", key, err)
	}
	kp, err := keyPath(key)
	if err != nil {
		return pipeline.Object{}, fmt.Errorf("localstore: head %s: %w", key, err)
	}
	v, err := s.current(kp)
	if err != nil {
		return pipeline.Object{}, fmt.Errorf("localstore: head %s: %w", key, err)
	}
	obj, err := s.readMeta(kp, v)
	if err != nil {
		return pipeline.Object{}, fmt.Errorf("localstore: head %s: %w", key, err)
	}
	return obj, nil
}

// Open returns a reader for one version of key; an empty version means the current one.
// The caller closes the reader.
func (s *Store) Open(ctx context.Context, key, version string) (rc io.ReadCloser, obj pipeline.Object, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("localstore: open %s@%s: %w", key, version, err)
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, pipeline.Object{}, err
	}
	kp, err := keyPath(key)
	if err != nil {
		return nil, pipeline.Object{}, err
	}
	if version == "" {
		if version, err = s.current(kp); err != nil {
			return nil, pipeline.Object{}, err
		}
	} else if err := checkVersion(version); err != nil {
		return nil, pipeline.Object{}, err
	}

	obj, err = s.readMeta(kp, version)
	if err != nil {
		return nil, pipeline.Object{}, err
	}
	f, err := s.root.Open(path.Join(kp, versionsName, version, dataName))
	if err != nil {
		return nil, pipeline.Object{}, notFound(err)
	}
	return f, obj, nil
}

// current reads the id of the current version of the key directory kp.
func (s *Store) current(kp string) (string, error) {
	b, err := s.root.ReadFile(path.Join(kp, currentName))
	if err != nil {
		return "", notFound(err)
	}
	v := string(b)
	if err := checkVersion(v); err != nil {
		return "", fmt.Errorf("corrupt %s: %w", currentName, err)
	}
	return v, nil
}

// lock returns the mutex that orders publishing for key.
func (s *Store) lock(key string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return &s.locks[h.Sum32()%lockStripe]
}

// nextVersion issues a version id later than every id this store issued and later than prev.
func (s *Store) nextVersion(prev string) string {
	s.idMu.Lock()
	defer s.idMu.Unlock()

	t := s.clock().UTC()
	if !t.After(s.lastID) {
		t = s.lastID.Add(time.Nanosecond)
	}
	if prev != "" {
		if p := versionTime(prev); !t.After(p) {
			t = p.Add(time.Nanosecond)
		}
	}
	s.lastID = t
	return t.Format(versionLayout)
}

// notFound turns a missing file into pipeline.ErrNotFound and keeps other errors.
func notFound(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return pipeline.ErrNotFound
	}
	return err
}
