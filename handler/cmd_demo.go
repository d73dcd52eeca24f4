package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/backlog-webhook/backlog-webhook/handler/internal/memlimit"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/server"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "demo [--data DIR]", stdout)
	data := fs.String("data", envOr(envData, ".data"), "data directory (env "+envData+")")
	verbose := fs.Bool("v", false, "log debug detail")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := textLogger(stderr, *verbose)
	memlimit.Apply(1, os.Getenv("GOMEMLIMIT"))

	d, err := startDemo(*data, log)
	if err != nil {
		return err
	}
	defer d.Close()
	cfg := localConfig{Data: *data}
	d.configure(&cfg)

	ctx, cancel := waitCtx(ctx)
	defer cancel()
	var delivery string
	var flowErr error
	started := func(addr string, w *server.Worker) {
		go func() {
			defer cancel()
			delivery, flowErr = d.push(ctx, addr, w)
		}()
	}
	if err := serve(ctx, &cfg, serveOptions{listen: "127.0.0.1:0", token: d.token, started: started}, log); err != nil {
		return err
	}
	if flowErr != nil {
		return fmt.Errorf("demo: %w", flowErr)
	}
	return d.report(context.WithoutCancel(ctx), &cfg, delivery, stdout)
}

// push sends the sample push to the server at addr and waits until it is processed.
func (d *demo) push(ctx context.Context, addr string, w *server.Worker) (string, error) {
	body, err := os.ReadFile(d.pushFile)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url(addr), bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("send push: %w", err)
	}
	defer resp.Body.Close()
	var r struct {
		Delivery string `json:"delivery"`
		Error    string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&r)
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("send push: %s: %s", resp.Status, r.Error)
	}
	return r.Delivery, w.WaitIdle(ctx)
}

// report finds what the delivery archived, writes the archive next to the demo
// and prints a summary whose last line is the archive's path.
func (d *demo) report(ctx context.Context, cfg *localConfig, delivery string, stdout io.Writer) error {
	l, err := cfg.open()
	if err != nil {
		return err
	}
	defer l.Close()
	recs, err := l.db.History(ctx, pipeline.Query{Project: demoProject, Repo: demoRepo, Branch: demoBranch})
	if err != nil {
		return err
	}
	var rec *pipeline.Record
	for i := range recs {
		if recs[i].Delivery == delivery {
			rec = &recs[i]
			break
		}
	}
	if rec == nil {
		return errors.New("demo: the sample push left no ledger record; run with -v and read the log")
	}
	if rec.Outcome != pipeline.OutcomeArchived && rec.Outcome != pipeline.OutcomeUnchanged {
		return fmt.Errorf("demo: the sample push was %s: %s", rec.Outcome, rec.Reason)
	}

	out := filepath.Join(d.dir, fmt.Sprintf("%s-%s-%s.zip", demoProject, demoRepo, demoBranch))
	n, err := copyArchive(ctx, l.store, rec.Key, rec.Version, out)
	if err != nil {
		return err
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		return fmt.Errorf("demo: the stored archive is not a zip: %w", err)
	}
	files := len(zr.File)
	_ = zr.Close()
	fmt.Fprintf(stdout, "%s %s/%s@%s commit %s → %s version %s (%d entries, %d bytes)\n",
		rec.Outcome, demoProject, demoRepo, demoBranch, rec.Commit[:12], rec.Key, rec.Version, files, n)
	fmt.Fprintln(stdout, out)
	return nil
}

// copyArchive writes version of key (the current one when empty) from store to the file out.
func copyArchive(ctx context.Context, store pipeline.Opener, key, version, out string) (int64, error) {
	r, _, err := store.Open(ctx, key, version)
	if err != nil {
		return 0, fmt.Errorf("open %s@%s: %w", key, version, err)
	}
	defer r.Close()
	f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(out)
		return 0, fmt.Errorf("write %s: %w", out, err)
	}
	return n, nil
}
