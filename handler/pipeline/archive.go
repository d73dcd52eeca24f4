package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/backlog-webhook/backlog-webhook/handler/archive"
	"github.com/backlog-webhook/backlog-webhook/handler/clone"
	"github.com/backlog-webhook/backlog-webhook/handler/layout"
)

// Request asks for the current state of one branch to be archived.
type Request struct {
	// URL is the SSH URL to clone.
	URL string

	// Subfolders asks for one archive per top-level directory instead of one for the whole tree.
	Subfolders bool

	// Base carries the delivery, project, repository, branch and payload fields
	// copied into every record the request produces.
	Base Record
}

// target is one archive to make from a clone: a key and the tree that goes into it.
type target struct {
	key  string
	tree plumbing.Hash
}

// Archive clones the branch named in req.Base and stores an archive of each target
// whose tree differs from the one currently stored under its key. It records one
// ledger entry per target.
func (p *Pipeline) Archive(ctx context.Context, req Request) (Result, error) {
	b := req.Base
	name := fmt.Sprintf("%s/%s@%s", b.Project, b.Repo, b.Branch)
	log := p.log.With("delivery", short(b.Delivery), "repo", b.Project+"/"+b.Repo, "branch", b.Branch)

	creds, err := p.keys.Credentials(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("archive %s: ssh credentials: %w", name, err)
	}
	start := time.Now()
	repo, err := clone.Clone(ctx, clone.Options{
		URL: req.URL, Branch: b.Branch, PrivateKey: creds.PrivateKey, KnownHosts: creds.KnownHosts,
		TempDir: p.cfg.TempDir,
	})
	if err != nil {
		log.ErrorContext(ctx, "clone failed", "err", err.Error())
		return Result{}, fmt.Errorf("archive %s: %w", name, err)
	}
	defer repo.Close()
	log.InfoContext(ctx, "cloned", "commit", repo.Commit.String(), "tree", repo.Tree.String(),
		"ms", time.Since(start).Milliseconds())

	targets, err := p.targets(repo, b, req.Subfolders)
	if err != nil {
		return Result{}, fmt.Errorf("archive %s: %w", name, err)
	}

	var res Result
	for _, t := range targets {
		rec, err := p.archiveOne(ctx, log, repo, t, b)
		if err != nil {
			return res, fmt.Errorf("archive %s to %s: %w", name, t.key, err)
		}
		if res, err = p.record(ctx, res, rec); err != nil {
			return res, err
		}
	}
	return res, nil
}

// targets lists what to archive from repo: the whole tree, or each top-level directory.
func (p *Pipeline) targets(repo *clone.Repo, b Record, subfolders bool) ([]target, error) {
	if !subfolders {
		return []target{{key: layout.Key(b.Project, b.Repo, b.Branch), tree: repo.Tree}}, nil
	}
	subs, err := archive.Subfolders(repo.Objects(), repo.Tree)
	if err != nil {
		return nil, fmt.Errorf("list subfolders: %w", err)
	}
	ts := make([]target, 0, len(subs))
	for _, s := range subs {
		ts = append(ts, target{key: layout.SubfolderKey(b.Project, b.Repo, b.Branch, s.Name), tree: s.Tree})
	}
	return ts, nil
}

// archiveOne stores one target unless its tree is already the current version of its key.
func (p *Pipeline) archiveOne(ctx context.Context, log *slog.Logger, repo *clone.Repo, t target,
	b Record) (Record, error) {
	rec := b
	rec.Commit, rec.Tree, rec.Key, rec.Time = repo.Commit.String(), t.tree.String(), t.key, p.now()
	start := time.Now()

	head, err := p.store.Head(ctx, t.key)
	switch {
	case err == nil && head.Meta.Tree == rec.Tree:
		rec.Outcome, rec.Version, rec.Size = OutcomeUnchanged, head.Version, head.Size
		rec.Reason = "tree already stored as version " + head.Version
		if head.Meta.Delivery == b.Delivery {
			// This delivery stored the version on an earlier attempt that failed before recording it.
			rec.Outcome, rec.Reason, rec.Commit = OutcomeArchived, "", head.Meta.Commit
		}
		log.InfoContext(ctx, "archive unchanged", "key", t.key, "version", head.Version, "tree", rec.Tree)
		return rec, nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return rec, fmt.Errorf("read current version: %w", err)
	}

	// Claim the record before uploading. A delivery recorded already (redelivered after the
	// branch moved on) stores nothing: the new version would have no record pointing at it.
	claim := rec
	claim.Outcome, claim.Reason = OutcomeFailed, "archive started, not finished"
	if err := p.ledger.Record(ctx, claim); errors.Is(err, ErrDuplicate) {
		rec.Outcome, rec.Reason = OutcomeUnchanged, "delivery already recorded"
		log.InfoContext(ctx, "archive skipped: delivery already recorded", "key", t.key)
		return rec, nil
	} else if err != nil {
		return rec, fmt.Errorf("claim record: %w", err)
	}

	obj, stats, err := p.upload(ctx, repo, t, Meta{
		Project: b.Project, Repo: b.Repo, Branch: b.Branch, Commit: rec.Commit, Tree: rec.Tree, Delivery: b.Delivery,
	})
	if err != nil {
		log.ErrorContext(ctx, "archive failed", "key", t.key, "err", err.Error())
		return rec, err
	}
	rec.Outcome, rec.Version, rec.Size, rec.Duration = OutcomeArchived, obj.Version, obj.Size, time.Since(start)
	log.InfoContext(ctx, "archived", "key", t.key, "version", obj.Version, "commit", rec.Commit, "files", stats.Files,
		"bytes", obj.Size, "ms", rec.Duration.Milliseconds())
	return rec, nil
}

// upload streams the zip of t.tree into the store through a pipe, so neither side holds the whole archive.
func (p *Pipeline) upload(ctx context.Context, repo *clone.Repo, t target, meta Meta) (Object, archive.Stats, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	pr, pw := io.Pipe()
	type written struct {
		stats archive.Stats
		err   error
	}
	done := make(chan written, 1)
	go func() {
		stats, err := WriteZip(ctx, pw, repo, t.tree)
		pw.CloseWithError(err)
		done <- written{stats, err}
	}()

	obj, err := p.store.Put(ctx, t.key, pr, meta)
	if err != nil {
		cancel()
		pr.CloseWithError(err)
	}
	w := <-done
	if w.err != nil {
		return Object{}, w.stats, fmt.Errorf("write zip: %w", w.err)
	}
	if err != nil {
		return Object{}, w.stats, fmt.Errorf("store: %w", err)
	}
	return obj, w.stats, nil
}

// WriteZip writes the zip of tree, a tree of the cloned repo, to w the way git archive
// does for the cloned commit: entries dated with the commit time, the commit id as comment.
func WriteZip(ctx context.Context, w io.Writer, repo *clone.Repo, tree plumbing.Hash) (archive.Stats, error) {
	return archive.Write(ctx, w, repo.Objects(), tree, archive.Options{Modified: repo.Time, Comment: repo.Commit.String()})
}
