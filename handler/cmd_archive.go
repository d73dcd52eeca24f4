package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/clone"
	"github.com/backlog-webhook/backlog-webhook/handler/filekeys"
	"github.com/backlog-webhook/backlog-webhook/handler/internal/memlimit"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

func runArchive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg localConfig
	fs := newFlagSet("archive", "archive --repo URL|PROJECT/repo --ref BRANCH [--out FILE.zip] [flags]", stdout)
	cfg.flags(fs)
	repoArg := fs.String("repo", "", "SSH URL of the repository, or PROJECT/repo with --git-server")
	ref := fs.String("ref", "", "branch to archive (refs/heads/ may be omitted)")
	out := fs.String("out", "", "write the zip to this file instead of the store and ledger")
	subfolders := fs.Bool("subfolders", false, "one archive per top-level directory (not with --out)")
	verbose := fs.Bool("v", false, "log debug detail")
	if err := fs.Parse(args); err != nil {
		return err
	}
	branch := strings.TrimPrefix(*ref, "refs/heads/")
	if *repoArg == "" || branch == "" {
		return errors.New("archive needs --repo and --ref")
	}
	if err := webhook.ValidateBranch(branch); err != nil {
		return err
	}
	if err := cfg.validate(true); err != nil {
		return err
	}
	url, project, repo, err := resolveRepo(*repoArg, cfg.GitServer)
	if err != nil {
		return err
	}
	log := textLogger(stderr, *verbose)
	memlimit.Apply(1, os.Getenv("GOMEMLIMIT"))

	if *out != "" {
		return archiveToFile(ctx, &cfg, url, branch, *out, stdout)
	}
	l, err := cfg.open()
	if err != nil {
		return err
	}
	defer l.Close()
	res, err := l.pipeline(&cfg, log).Archive(ctx, pipeline.Request{URL: url, Subfolders: *subfolders,
		Base: pipeline.Record{Delivery: "manual-" + randomToken()[:16], Project: project, Repo: repo,
			Branch: branch, Event: "manual", User: os.Getenv("USER"), Time: time.Now().UTC()}})
	if err != nil {
		return err
	}
	for _, r := range res.Records {
		fmt.Fprintf(stdout, "%s %s commit %s version %s (%d bytes)\n", r.Outcome, r.Key, r.Commit, r.Version, r.Size)
	}
	return nil
}

// resolveRepo turns --repo into a clone URL and the project and repository names.
// It takes an SSH URL ending in /PROJECT/repo(.git), or PROJECT/repo with a configured Git server.
func resolveRepo(arg, server string) (url, project, repo string, err error) {
	if !strings.ContainsAny(arg, ":@") {
		project, repo, _ = strings.Cut(arg, "/")
		if server == "" {
			return "", "", "", errors.New("--repo PROJECT/repo needs --git-server (or give the full SSH URL)")
		}
		if err := validateNames(project, repo); err != nil {
			return "", "", "", err
		}
		url, err = clone.RepoURL(server, project, repo)
		return url, project, repo, err
	}
	parts := strings.Split(strings.TrimSuffix(strings.TrimRight(arg, "/"), ".git"), "/")
	if len(parts) < 2 {
		return "", "", "", fmt.Errorf("--repo %q: expected a URL ending in /PROJECT/repo.git", arg)
	}
	project, repo = parts[len(parts)-2], parts[len(parts)-1]
	project = project[strings.LastIndexAny(project, ":")+1:]
	if err := validateNames(project, repo); err != nil {
		return "", "", "", fmt.Errorf("--repo %q: %w", arg, err)
	}
	return arg, project, repo, nil
}

func validateNames(project, repo string) error {
	return errors.Join(webhook.ValidateProject(project), webhook.ValidateRepo(repo))
}

// archiveToFile clones branch and writes its zip to out, through a temporary file
// so that a failed run leaves no partial archive.
func archiveToFile(ctx context.Context, cfg *localConfig, url, branch, out string, stdout io.Writer) error {
	creds, err := filekeys.New(cfg.SSHKey, cfg.KnownHosts).Credentials(ctx)
	if err != nil {
		return err
	}
	repo, err := clone.Clone(ctx, clone.Options{URL: url, Branch: branch, PrivateKey: creds.PrivateKey,
		KnownHosts: creds.KnownHosts})
	if err != nil {
		return err
	}
	defer repo.Close()

	tmp, err := os.CreateTemp(filepath.Dir(out), ".archive-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	stats, err := pipeline.WriteZip(ctx, tmp, repo, repo.Tree)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: commit %s tree %s, %d files\n", out, repo.Commit, repo.Tree, stats.Files)
	return nil
}
