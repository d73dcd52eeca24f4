package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
	"github.com/backlog-webhook/backlog-webhook/handler/server"
	gossh "golang.org/x/crypto/ssh"
)

// The demo's sample repository.
const (
	demoProject = "DEMO"
	demoRepo    = "sample"
	demoBranch  = "main"
)

// demo is a self-contained environment: an SSH Git server on loopback serving a
// sample repository, a key it accepts, its known_hosts line and a sample push.
type demo struct {
	data       string
	dir        string
	git        *gitserver.Server
	token      string
	keyFile    string
	knownHosts string
	pushFile   string
	script     string
}

// startDemo prepares the demo under data/demo and starts its Git server.
func startDemo(data string, log *slog.Logger) (*demo, error) {
	d := &demo{data: data, dir: filepath.Join(data, "demo")}
	root := filepath.Join(d.dir, "git")
	if err := os.RemoveAll(root); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	priv, pub, err := gitserver.NewKey()
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	d.keyFile = filepath.Join(d.dir, "id_ed25519")
	if err := os.WriteFile(d.keyFile, priv, 0o600); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	commit, err := gitserver.SampleRepo(root, demoProject, demoRepo)
	if err != nil {
		return nil, fmt.Errorf("demo: sample repository: %w", err)
	}

	d.git, err = gitserver.Start(gitserver.Options{Root: root, AuthorizedKeys: []gossh.PublicKey{pub}, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("demo: git server: %w", err)
	}
	d.knownHosts = filepath.Join(d.dir, "known_hosts")
	d.token = randomToken()
	d.pushFile = filepath.Join(d.dir, "push.json")
	d.script = filepath.Join(d.dir, "send-push.sh")
	files := map[string][]byte{d.knownHosts: d.git.KnownHosts(), d.pushFile: samplePush(commit)}
	for name, b := range files {
		if err := os.WriteFile(name, b, 0o600); err != nil {
			d.Close()
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	return d, nil
}

// configure points cfg at the demo's Git server and key files.
func (d *demo) configure(cfg *localConfig) {
	cfg.GitServer, cfg.SSHKey, cfg.KnownHosts = d.git.ServerURL("git"), d.keyFile, d.knownHosts
}

// announce returns the callback that prints how to use the running demo and
// writes the script that sends the sample push to addr.
func (d *demo) announce(w io.Writer) func(addr string, _ *server.Worker) {
	return func(addr string, _ *server.Worker) {
		script := fmt.Sprintf("#!/bin/sh\n# Sends the demo's sample Backlog push to the local server.\n"+
			"exec curl -sS -X POST -H 'Content-Type: application/json' --data-binary @%q %q\n",
			d.pushFile, d.url(addr))
		if err := os.WriteFile(d.script, []byte(script), 0o700); err != nil {
			fmt.Fprintln(w, "demo: write script:", err)
		}
		fmt.Fprintf(w, `
backlog-webhook demo is running.
  webhook server  http://%s%s<token>   (the token is in %s)
  Git server      %s, serving %s/%s (branch %s)

Send a sample Backlog push from another terminal:

  sh %s

The server logs each decision. Look at what was archived (from another terminal, while it runs):

  go run ./handler list --data %s
  go run ./handler get --data %s --repo %s/%s --branch %s --out sample.zip

Stop the server with Ctrl-C.
`, addr, server.PathPrefix, d.script, d.git.ServerURL("git"), demoProject, demoRepo, demoBranch, d.script,
			d.data, d.data, demoProject, demoRepo, demoBranch)
	}
}

// url is the webhook URL of a server listening on addr.
func (d *demo) url(addr string) string { return "http://" + addr + server.PathPrefix + d.token }

// Close stops the demo's Git server.
func (d *demo) Close() {
	if d.git != nil {
		_ = d.git.Close()
	}
}

// samplePush is a Backlog project webhook (type 12) for a push of commit to the demo branch.
func samplePush(commit string) []byte {
	body := map[string]any{
		"id":      1,
		"type":    12,
		"project": map[string]any{"id": 1, "projectKey": demoProject, "name": "Demo"},
		"content": map[string]any{
			"change_type": "update", "ref": "refs/heads/" + demoBranch, "revision_type": "commit",
			"repository":     map[string]any{"id": 1, "name": demoRepo, "description": nil},
			"revision_count": 1, "revisions": []map[string]any{{"rev": commit, "comment": "Sample commit"}},
		},
		"notifications": []any{},
		"createdUser":   map[string]any{"id": 1, "userId": "demo", "name": "Demo User"},
		"created":       time.Now().UTC().Format(time.RFC3339),
	}
	b, _ := json.MarshalIndent(body, "", "  ")
	return append(b, '\n')
}

// waitCtx is a context for the demo's one-shot flow.
func waitCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 2*time.Minute)
}
