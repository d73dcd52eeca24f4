// Package filekeys supplies the SSH credentials of the local mode from two files:
// a private key and a known_hosts file for the Git server.
//
// Both files are read on every call, so they can be rotated while the server runs.
// Errors name the file and never show its content. The key is passed on as bytes;
// parsing it is left to the clone step, which needs it anyway.
package filekeys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync/atomic"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

// Errors about the files, wrapped with the file they concern.
var (
	// ErrNoPath is returned when a file was not configured.
	ErrNoPath = errors.New("no file configured")

	// ErrEmpty is returned for a file with no content.
	ErrEmpty = errors.New("file is empty")

	// ErrTooLarge is returned for a file larger than any key or known_hosts file should be.
	ErrTooLarge = errors.New("file is too large")
)

// maxSize bounds what is read from either file.
const maxSize = 1 << 20

var _ pipeline.KeySource = (*Keys)(nil)

// Keys reads credentials from a private key file and a known_hosts file.
// It is safe for concurrent use.
type Keys struct {
	privateKey string
	knownHosts string
	log        *slog.Logger
	warned     atomic.Bool
}

// Option changes how New builds Keys.
type Option func(*Keys)

// WithLogger sets the logger that receives the warning about a private key file that
// others can read. Without it the warning is discarded.
func WithLogger(l *slog.Logger) Option {
	return func(k *Keys) { k.log = l }
}

// New returns a KeySource reading the two files on every call.
func New(privateKeyPath, knownHostsPath string, opts ...Option) *Keys {
	k := &Keys{privateKey: privateKeyPath, knownHosts: knownHostsPath, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(k)
	}
	return k
}

// Credentials reads both files now and returns their content.
func (k *Keys) Credentials(ctx context.Context) (pipeline.Credentials, error) {
	if err := ctx.Err(); err != nil {
		return pipeline.Credentials{}, fmt.Errorf("filekeys: credentials: %w", err)
	}
	key, mode, err := read(k.privateKey)
	if err != nil {
		return pipeline.Credentials{}, fmt.Errorf("filekeys: private key %s: %w", k.privateKey, err)
	}
	hosts, _, err := read(k.knownHosts)
	if err != nil {
		return pipeline.Credentials{}, fmt.Errorf("filekeys: known_hosts %s: %w", k.knownHosts, err)
	}

	if runtime.GOOS != "windows" && mode.Perm()&0o077 != 0 && !k.warned.Swap(true) {
		k.log.Warn("private key file is readable by group or others; restrict it to its owner (chmod 600)",
			"path", k.privateKey, "mode", mode.Perm().String())
	}
	return pipeline.Credentials{PrivateKey: key, KnownHosts: hosts}, nil
}

// read returns the content and mode of the regular file at path.
// Its errors carry no content; os errors already name the path.
func read(path string) ([]byte, os.FileMode, error) {
	if path == "" {
		return nil, 0, ErrNoPath
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, unwrapPath(err)
	}
	defer f.Close()

	fi, err := f.Stat()
	if err != nil {
		return nil, 0, unwrapPath(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	switch {
	case err != nil:
		return nil, 0, unwrapPath(err)
	case len(b) == 0:
		return nil, 0, ErrEmpty
	case len(b) > maxSize:
		return nil, 0, fmt.Errorf("%w (over %d bytes)", ErrTooLarge, maxSize)
	}
	return b, fi.Mode(), nil
}

// unwrapPath drops the path an os error repeats, since the caller names the file.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
