package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/backlog-webhook/backlog-webhook/handler/layout"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

func runGet(ctx context.Context, args []string, stdout, _ io.Writer) error {
	var cfg localConfig
	fs := newFlagSet("get", "get --repo PROJECT/repo --branch B [--commit SHA | --version V] --out FILE.zip", stdout)
	fs.StringVar(&cfg.Data, "data", envOr(envData, ".data"), "data directory (env "+envData+")")
	repo := fs.String("repo", "", "repository (PROJECT/repo)")
	branch := fs.String("branch", "", "branch")
	sub := fs.String("subfolder", "", "the archive of this top-level directory (subfolder mode)")
	commit := fs.String("commit", "", "the archive made from this commit (full hash)")
	version := fs.String("version", "", "this stored version")
	out := fs.String("out", "", "file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	project, name, ok := strings.Cut(*repo, "/")
	if !ok || *branch == "" || *out == "" {
		return errors.New("get needs --repo PROJECT/repo, --branch and --out")
	}
	if *commit != "" && *version != "" {
		return errors.New("give --commit or --version, not both")
	}
	key := layout.Key(project, name, *branch)
	if *sub != "" {
		key = layout.SubfolderKey(project, name, *branch, *sub)
	}

	l, err := cfg.openReader(ctx)
	if err != nil {
		return err
	}
	defer l.Close()
	v := *version
	if *commit != "" {
		if v, err = versionOf(ctx, l, project, name, *branch, *commit, key); err != nil {
			return err
		}
	}
	n, err := copyArchive(ctx, l, key, v, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes) from %s\n", *out, n, key)
	return nil
}

// versionOf finds the stored version of key that holds commit.
func versionOf(ctx context.Context, h pipeline.Historian, project, repo, branch, commit, key string) (string, error) {
	recs, err := h.History(ctx, pipeline.Query{Project: project, Repo: repo, Branch: branch, Commit: commit})
	if err != nil {
		return "", err
	}
	for _, r := range recs {
		if r.Key == key && r.Version != "" {
			return r.Version, nil
		}
	}
	return "", fmt.Errorf("no archive of %s holds commit %s", key, commit)
}
