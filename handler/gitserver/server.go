// Package gitserver runs a loopback SSH Git server for tests, the local demo and
// benchmarks.
//
// The server is github.com/gliderlabs/ssh in front of the system git-upload-pack,
// so shallow clones work as they do against Backlog. It listens on 127.0.0.1 only,
// accepts only the public keys it was given, and runs nothing but
// "git-upload-pack '<path>'" for bare repositories under its root directory,
// which it serves at paths of the form /PROJECT/repo.git.
package gitserver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Options configure a Server.
type Options struct {
	// Root is the directory that holds the bare repositories, as Root/PROJECT/repo.git.
	Root string

	// AuthorizedKeys are the only client keys the server accepts.
	AuthorizedKeys []gossh.PublicKey

	// Logger receives one line per session; nil discards logs.
	Logger *slog.Logger
}

// Server is a running loopback SSH Git server. Its methods are safe for concurrent use.
type Server struct {
	root    string
	keys    []gossh.PublicKey
	log     *slog.Logger
	hostKey gossh.PublicKey
	ln      net.Listener
	srv     *ssh.Server

	mu       sync.Mutex // guards closed and sessions.Add
	closed   bool
	sessions sync.WaitGroup
	served   chan struct{}
	once     sync.Once
}

// Start generates an ed25519 host key and starts serving on 127.0.0.1 at a free port.
func Start(opts Options) (*Server, error) {
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("gitserver: root %s: %w", opts.Root, err)
	}
	root, err = filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("gitserver: root %s: %w", opts.Root, err)
	}

	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("gitserver: host key: %w", err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("gitserver: host key: %w", err)
	}

	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		root:    root,
		keys:    append([]gossh.PublicKey(nil), opts.AuthorizedKeys...),
		log:     log,
		hostKey: signer.PublicKey(),
		served:  make(chan struct{}),
	}
	s.srv = &ssh.Server{
		Handler:          s.handle,
		PublicKeyHandler: s.authorize,
		HostSigners:      []ssh.Signer{signer},
	}

	s.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("gitserver: listen: %w", err)
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(s.ln)
	}()
	return s, nil
}

// Addr returns the address the server listens on, as 127.0.0.1:PORT.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// HostKey returns the server's public host key.
func (s *Server) HostKey() gossh.PublicKey { return s.hostKey }

// KnownHosts returns a known_hosts line for the server, "[127.0.0.1]:PORT ssh-ed25519 ...", ending in a newline.
func (s *Server) KnownHosts() []byte {
	return []byte(knownhosts.Line([]string{knownhosts.Normalize(s.Addr())}, s.hostKey) + "\n")
}

// ServerURL returns what a user would configure as the Backlog Git server to reach
// this server as user, e.g. "git@127.0.0.1:PORT".
func (s *Server) ServerURL(user string) string { return user + "@" + s.Addr() }

// Close stops the server, ends open sessions and waits for them to finish.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()

		// Serve may not have tracked the listener yet: close it here as well.
		err = s.srv.Close()
		if errors.Is(err, ssh.ErrServerClosed) {
			err = nil
		}
		if lerr := s.ln.Close(); lerr != nil && !errors.Is(lerr, net.ErrClosed) && err == nil {
			err = lerr
		}
		<-s.served
		s.sessions.Wait()
	})
	return err
}

func (s *Server) authorize(ctx ssh.Context, key ssh.PublicKey) bool {
	for _, k := range s.keys {
		if ssh.KeysEqual(k, key) {
			return true
		}
	}
	s.log.Info("gitserver: key refused", "user", ctx.User(), "key", gossh.FingerprintSHA256(key))
	return false
}

func (s *Server) handle(sess ssh.Session) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = sess.Exit(255)
		return
	}
	s.sessions.Add(1)
	s.mu.Unlock()
	defer s.sessions.Done()

	log := s.log.With("user", sess.User(), "key", gossh.FingerprintSHA256(sess.PublicKey()))
	repo, err := s.resolve(sess.Command())
	if err != nil {
		log.Info("gitserver: command refused", "command", sess.RawCommand(), "err", err)
		_, _ = fmt.Fprintf(sess.Stderr(), "fatal: %v\n", err)
		_ = sess.Exit(128)
		return
	}

	code := s.uploadPack(sess, repo)
	log.Info("gitserver: upload-pack", "repo", strings.TrimPrefix(repo, s.root), "exit", code)
	_ = sess.Exit(code)
}

// resolve checks that args is "git-upload-pack PATH" for a repository inside the
// root and returns the repository's directory.
func (s *Server) resolve(args []string) (string, error) {
	if len(args) != 2 || args[0] != "git-upload-pack" {
		return "", errors.New("only git-upload-pack is allowed")
	}
	rel := path.Clean("/" + args[1])
	if rel == "/" || !strings.HasSuffix(rel, ".git") {
		return "", fmt.Errorf("'%s' does not appear to be a git repository", args[1])
	}

	dir := filepath.Join(s.root, filepath.FromSlash(rel))
	real, err := filepath.EvalSymlinks(dir)
	if err != nil || !within(s.root, real) {
		return "", fmt.Errorf("'%s' does not appear to be a git repository", args[1])
	}
	if fi, err := os.Stat(filepath.Join(real, "HEAD")); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("'%s' does not appear to be a git repository", args[1])
	}
	return real, nil
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// uploadPack runs git-upload-pack for repo on the session and returns its exit code.
func (s *Server) uploadPack(sess ssh.Session, repo string) int {
	ctx, cancel := context.WithCancel(sess.Context())
	defer cancel()

	cmd := exec.CommandContext(ctx, "git-upload-pack", "--strict", repo)
	cmd.Env = gitEnv()
	cmd.Stdout = sess
	cmd.Stderr = sess.Stderr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 1
	}
	if err := cmd.Start(); err != nil {
		_, _ = fmt.Fprintln(sess.Stderr(), "fatal: cannot start git-upload-pack")
		return 1
	}
	go func() {
		_, _ = io.Copy(stdin, sess)
		_ = stdin.Close()
	}()

	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode()
	default:
		return 1
	}
}
