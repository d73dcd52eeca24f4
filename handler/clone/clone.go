// Package clone fetches one branch of a Git repository over SSH into a temporary
// bare repository: shallow (depth 1), single branch, no tags and no work tree.
//
// Objects are kept in a filesystem object store under a fresh temporary directory,
// so memory stays bounded for large repositories; Repo.Close removes it. The
// received pack is indexed by this package rather than by go-git (whose indexer
// holds delta bases and targets in memory), and large deltas are rebuilt through
// temporary files when read. The SSH
// host key is always checked against the known_hosts lines the caller supplies.
package clone

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Errors a caller can act on, tested with errors.Is.
var (
	ErrNoKnownHosts    = errors.New("no known_hosts configured")
	ErrHostUnknown     = errors.New("host not in known_hosts")
	ErrHostKeyMismatch = errors.New("host key mismatch")
	ErrAuthRefused     = errors.New("server refused the SSH key")
	ErrRepoNotFound    = errors.New("repository not found")
	ErrBranchNotFound  = errors.New("branch not found")
)

const (
	// objectCacheSize bounds the decoded objects kept in memory.
	objectCacheSize = 8 * cache.MiByte

	// largeObject is the size above which objects are streamed from the pack, not read into memory.
	largeObject = 1 << 20
)

// Options say what to clone and how to authenticate. PrivateKey and KnownHosts are
// never logged nor copied into errors.
type Options struct {
	// URL is the SSH clone URL, as RepoURL returns it.
	URL string

	// Branch is the short branch name, e.g. "main".
	Branch string

	// PrivateKey is an OpenSSH or PEM private key (ed25519, ECDSA or RSA) without passphrase.
	PrivateKey []byte

	// KnownHosts holds known_hosts lines for the server; it must not be empty.
	KnownHosts []byte

	// TempDir is where the clone directory is made; empty means os.TempDir().
	TempDir string
}

// Repo is a cloned branch. It is safe for concurrent reads until Close.
type Repo struct {
	// Commit is the tip of the branch; Tree is that commit's root tree.
	Commit plumbing.Hash
	Tree   plumbing.Hash

	// Time is the committer time of Commit.
	Time time.Time

	dir     string
	storage *objects
}

// Objects returns the object store of the clone, valid until Close. Blobs larger
// than 1 MiB, deltas included, are streamed by their readers, not read into memory.
func (r *Repo) Objects() storer.EncodedObjectStorer { return r.storage }

// Close releases the object store and removes the clone directory.
func (r *Repo) Close() error {
	cerr := errors.Join(closePacks(r.storage.packs), r.storage.Close())
	if err := os.RemoveAll(r.dir); err != nil {
		return fmt.Errorf("clone: remove %s: %w", r.dir, err)
	}
	return cerr
}

// Clone fetches the tip of opts.Branch from opts.URL. Errors wrap one of the
// package's sentinel errors when the cause is known, or ctx.Err() when ctx ended.
//
// Cancelling ctx makes Clone return promptly. The SSH handshake itself cannot be
// interrupted, so a server that stalls in it may hold a background goroutine until
// the connection breaks; the clone directory is removed when it ends.
func Clone(ctx context.Context, opts Options) (*Repo, error) {
	what := describe(opts.URL, opts.Branch)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("clone %s: %w", what, err)
	}

	type result struct {
		repo *Repo
		err  error
	}
	done := make(chan result, 1)
	go func() {
		r, err := clone(ctx, opts)
		done <- result{r, err}
	}()

	select {
	case res := <-done:
		if res.err != nil {
			return nil, fmt.Errorf("clone %s: %w", what, res.err)
		}
		return res.repo, nil
	case <-ctx.Done():
		go func() {
			if res := <-done; res.repo != nil {
				_ = res.repo.Close()
			}
		}()
		return nil, fmt.Errorf("clone %s: %w", what, ctx.Err())
	}
}

func clone(ctx context.Context, opts Options) (repo *Repo, err error) {
	if strings.TrimSpace(string(opts.KnownHosts)) == "" {
		return nil, ErrNoKnownHosts
	}
	ep, err := transport.NewEndpoint(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("parse URL: %w", err)
	}
	if ep.Protocol != "ssh" {
		return nil, fmt.Errorf("URL scheme %q: only ssh is supported", ep.Protocol)
	}

	dir, err := os.MkdirTemp(opts.TempDir, "clone-*")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()

	auth, err := newAuth(ep, opts.PrivateKey, opts.KnownHosts, dir)
	if err != nil {
		return nil, err
	}

	st := filesystem.NewStorageWithOptions(osfs.New(filepath.Join(dir, "git")),
		cache.NewObjectLRU(objectCacheSize), filesystem.Options{LargeObjectThreshold: largeObject})
	defer func() {
		if err != nil {
			_ = st.Close()
		}
	}()

	ref := plumbing.NewBranchReferenceName(opts.Branch)
	r, err := git.CloneContext(ctx, &fetchStorage{Storage: st, gitDir: filepath.Join(dir, "git")}, nil, &git.CloneOptions{
		URL:           opts.URL,
		Auth:          auth,
		ReferenceName: ref,
		SingleBranch:  true,
		Depth:         1,
		Tags:          git.NoTags,
		NoCheckout:    true,
	})
	if err != nil {
		return nil, classify(ctx, err, auth)
	}

	tip, err := r.Reference(ref, true)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBranchNotFound, err)
	}
	c, err := r.CommitObject(tip.Hash())
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", tip.Hash(), err)
	}
	packs, err := openPacks(st, filepath.Join(dir, "git"))
	if err != nil {
		return nil, err
	}
	objs := &objects{Storage: st, packs: packs, tmp: dir}
	return &Repo{Commit: c.Hash, Tree: c.TreeHash, Time: c.Committer.When, dir: dir, storage: objs}, nil
}

// classify maps an error of go-git or the SSH layer to the package's sentinel errors.
func classify(ctx context.Context, err error, auth *keyAuth) error {
	if hostErr := auth.hostKeyError(); hostErr != nil {
		return hostErr
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "unable to authenticate"):
		return fmt.Errorf("%w: user %s, key %s", ErrAuthRefused, auth.user, auth.fingerprint())
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return ErrRepoNotFound
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return fmt.Errorf("%w: %v", ErrBranchNotFound, err)
	case errors.Is(err, git.NoMatchingRefSpecError{}), errors.Is(err, plumbing.ErrReferenceNotFound):
		return fmt.Errorf("%w: %v", ErrBranchNotFound, err)
	}
	return err
}

// describe names a clone in errors as PROJECT/repo@branch.
func describe(rawURL, branch string) string {
	name := rawURL
	if ep, err := transport.NewEndpoint(rawURL); err == nil {
		name = strings.TrimSuffix(strings.Trim(ep.Path, "/"), ".git")
	}
	return name + "@" + branch
}
