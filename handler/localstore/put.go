package localstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

// copyBuffer is the size of the buffer a Put streams through.
const copyBuffer = 256 << 10

// Put streams r into a new version of key and makes it current. When Put returns an
// error, no new version is visible and its temporary files are gone.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, meta pipeline.Meta) (obj pipeline.Object, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("localstore: put %s: %w", key, err)
		}
	}()
	kp, err := keyPath(key)
	if err != nil {
		return pipeline.Object{}, err
	}
	if err := ctx.Err(); err != nil {
		return pipeline.Object{}, err
	}

	tmp := path.Join(tmpDir, fmt.Sprintf("%d-%d", os.Getpid(), s.tmpSeq.Add(1)))
	if err := s.root.Mkdir(tmp, dirPerm); err != nil {
		return pipeline.Object{}, err
	}
	published := false
	defer func() {
		if !published {
			_ = s.root.RemoveAll(tmp)
		}
	}()

	size, sum, err := s.writeData(ctx, path.Join(tmp, dataName), r)
	if err != nil {
		return pipeline.Object{}, err
	}

	mu := s.lock(key)
	mu.Lock()
	defer mu.Unlock()

	if err := ctx.Err(); err != nil {
		return pipeline.Object{}, err
	}
	prev, err := s.current(kp)
	if err != nil && !errors.Is(err, pipeline.ErrNotFound) {
		return pipeline.Object{}, err
	}
	if err := s.dropUnpointed(kp, prev); err != nil {
		return pipeline.Object{}, err
	}
	v := s.nextVersion(prev)
	sc := sidecar{Key: key, Version: v, Size: size, SHA256: sum, Modified: versionTime(v), Meta: toMetaJSON(meta)}
	if err := s.writeSidecar(path.Join(tmp, metaName), sc); err != nil {
		return pipeline.Object{}, err
	}
	if err := s.syncDir(tmp); err != nil {
		return pipeline.Object{}, err
	}

	vdir := path.Join(kp, versionsName)
	if err := s.ensureDir(vdir); err != nil {
		return pipeline.Object{}, err
	}
	final := path.Join(vdir, v)
	if err := s.root.Rename(tmp, final); err != nil {
		return pipeline.Object{}, err
	}
	published = true

	if err := s.syncDir(vdir); err != nil {
		_ = s.root.RemoveAll(final)
		return pipeline.Object{}, err
	}
	if err := s.setCurrent(kp, v); err != nil {
		_ = s.root.RemoveAll(final)
		return pipeline.Object{}, err
	}
	return sc.object(), nil
}

// ctxReader stops a stream once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// writeData streams r into a new file, syncs it and returns its size and hex SHA-256.
func (s *Store) writeData(ctx context.Context, name string, r io.Reader) (int64, string, error) {
	f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return 0, "", err
	}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(f, h), ctxReader{ctx: ctx, r: r}, make([]byte, copyBuffer))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// writeFileSync writes b to a new file name and syncs it.
func (s *Store) writeFileSync(name string, b []byte) error {
	f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// setCurrent atomically points the key directory kp at version v.
func (s *Store) setCurrent(kp, v string) error {
	tmp := path.Join(kp, fmt.Sprintf("%s.%d-%d", currentName, os.Getpid(), s.tmpSeq.Add(1)))
	if err := s.writeFileSync(tmp, []byte(v)); err != nil {
		_ = s.root.Remove(tmp)
		return err
	}
	if err := s.root.Rename(tmp, path.Join(kp, currentName)); err != nil {
		_ = s.root.Remove(tmp)
		return err
	}
	return s.syncDir(kp)
}

// ensureDir creates dir and its parents when missing and syncs every directory it
// touched, so a new key survives a crash together with its first version.
func (s *Store) ensureDir(dir string) error {
	if _, err := s.root.Stat(dir); err == nil {
		return nil
	}
	if err := s.root.MkdirAll(dir, dirPerm); err != nil {
		return err
	}
	for d := dir; d != "." && d != objectsDir; d = path.Dir(d) {
		if err := s.syncDir(path.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// syncDir flushes the entries of a directory to disk.
func (s *Store) syncDir(dir string) error {
	f, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// clearTmp removes uploads left by a process that stopped mid-Put.
func (s *Store) clearTmp() error {
	f, err := s.root.Open(tmpDir)
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	_ = f.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := s.root.RemoveAll(path.Join(tmpDir, n)); err != nil {
			return err
		}
	}
	return nil
}

// dropUnpointed removes the versions of the key directory kp that are newer than its
// current version cur. Only a process that stopped between publishing a version and
// pointing @current at it leaves them; no caller was told of them, and a retry
// would otherwise store the same archive twice. The key's lock is held.
func (s *Store) dropUnpointed(kp, cur string) error {
	vdir := path.Join(kp, versionsName)
	f, err := s.root.Open(vdir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	_ = f.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if checkVersion(n) == nil && n > cur { // version ids sort by time
			if err := s.root.RemoveAll(path.Join(vdir, n)); err != nil {
				return err
			}
		}
	}
	return nil
}
