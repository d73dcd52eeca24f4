package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/internal/memlimit"
	"github.com/backlog-webhook/backlog-webhook/handler/server"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg localConfig
	fs := newFlagSet("serve", "serve [flags]", stdout)
	cfg.flags(fs)
	listen := fs.String("listen", envOr(envListen, "127.0.0.1:8080"), "listen address (env "+envListen+")")
	token := fs.String("token", os.Getenv(envToken), "secret path segment of the webhook URL (env "+envToken+")")
	workers := fs.Int("workers", 2, "repositories archived at once")
	attempts := fs.Int("max-attempts", 5, "tries before a webhook is moved to the dead letters")
	verbose := fs.Bool("v", false, "log debug detail")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := textLogger(stderr, *verbose)
	memlimit.Apply(*workers, os.Getenv("GOMEMLIMIT"))

	if cfg.GitServer == "" {
		d, err := startDemo(cfg.Data, log)
		if err != nil {
			return err
		}
		defer d.Close()
		d.configure(&cfg)
		*token = d.token
		defer fmt.Fprintln(stdout, "demo stopped")
		return serve(ctx, &cfg, serveOptions{listen: *listen, token: *token, workers: *workers,
			attempts: *attempts, started: d.announce(stdout)}, log)
	}
	if *token == "" {
		return fmt.Errorf("set --token or %s to the secret path segment of the webhook URL", envToken)
	}
	if err := cfg.validate(true); err != nil {
		return err
	}
	return serve(ctx, &cfg, serveOptions{listen: *listen, token: *token, workers: *workers, attempts: *attempts,
		started: func(addr string, _ *server.Worker) {
			log.Info("listening", "url", "http://"+addr+server.PathPrefix+"<token>")
		}}, log)
}

// serveOptions are the server settings beside the pipeline's configuration.
type serveOptions struct {
	listen   string
	token    string
	workers  int
	attempts int
	started  func(addr string, w *server.Worker) // called once the listener is bound
}

// serve runs the intake and the worker until ctx is done.
func serve(ctx context.Context, cfg *localConfig, o serveOptions, log *slog.Logger) error {
	if err := cfg.validate(true); err != nil {
		return err
	}
	l, err := cfg.open()
	if err != nil {
		return err
	}
	defer l.Close()

	p := l.pipeline(cfg, log)
	w := server.NewWorker(l.db, func(ctx context.Context, d webhook.Delivery) error {
		_, err := p.Handle(ctx, d)
		return err
	}, server.WorkerConfig{Workers: o.workers, MaxAttempts: o.attempts}, log)

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           server.NewIntake(o.token, l.db, w.Add, log),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}

	admin := &http.Server{
		Handler:           server.NewAdmin(l.db, l.store, func() { _ = w.Rescan() }, log),
		ReadHeaderTimeout: 10 * time.Second,
	}
	adminLn := listenAdmin(filepath.Join(cfg.Data, adminSocket), log)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	if adminLn != nil {
		go func() { _ = admin.Serve(adminLn) }()
	}
	go func() {
		<-ctx.Done()
		shut, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = srv.Shutdown(shut)
	}()
	if o.started != nil {
		o.started(ln.Addr().String(), w)
	}
	err = srv.Serve(ln)
	cancel()
	werr := <-done
	if adminLn != nil {
		shut, c := context.WithTimeout(context.Background(), 5*time.Second)
		_ = admin.Shutdown(shut) // closes the listener, which removes the socket file
		c()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return errors.Join(err, werr)
}

// listenAdmin listens on the admin socket at path, readable by this user only. The
// database lock is held, so a socket file left there is stale and is replaced. Without
// the socket (a path too long for one, say) the server runs on and logs why.
func listenAdmin(path string, log *slog.Logger) net.Listener {
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err == nil {
		err = os.Chmod(path, 0o600) // the data directory is 0700 too
	}
	if err != nil {
		if ln != nil {
			_ = ln.Close()
		}
		log.Warn("admin socket unavailable: list, get and dead need the server stopped", "err", err.Error())
		return nil
	}
	return ln
}

// randomToken returns a fresh webhook token.
func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
