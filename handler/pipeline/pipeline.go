package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/clone"
	"github.com/backlog-webhook/backlog-webhook/handler/rules"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

// maxPayload bounds how much of a webhook body a ledger record keeps.
const maxPayload = 64 << 10

// Config is what the pipeline needs besides its adapters.
type Config struct {
	// GitServer is the Backlog Git server as users configure it, e.g. "SPACE@SPACE.git.backlog.com".
	GitServer string

	// Rules decides which branches are archived and how.
	Rules rules.Rules

	// TempDir is where clones are written; empty means the system default.
	TempDir string
}

// Pipeline turns deliveries into archives and ledger records.
// It is safe for concurrent use; callers serialise work per repository to keep order.
type Pipeline struct {
	cfg    Config
	store  Store
	ledger Ledger
	keys   KeySource
	log    *slog.Logger
	now    func() time.Time
}

// New returns a Pipeline over the given adapters. A nil logger discards logs.
func New(cfg Config, store Store, ledger Ledger, keys KeySource, log *slog.Logger) *Pipeline {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Pipeline{cfg: cfg, store: store, ledger: ledger, keys: keys, log: log, now: time.Now}
}

// Result lists the ledger records one delivery produced.
type Result struct {
	Records []Record
}

// Handle processes one delivery. A nil error means the delivery is done and may be
// acknowledged, including when it was rejected or ignored (the ledger says why).
// An error means nothing may be assumed and the delivery must be retried.
func (p *Pipeline) Handle(ctx context.Context, d webhook.Delivery) (Result, error) {
	log := p.log.With("delivery", short(d.ID))

	ev, err := webhook.Parse(d.ContentType, d.Body)
	if err != nil {
		log.WarnContext(ctx, "webhook rejected", "reason", err.Error())
		rec := Record{Delivery: d.ID, Event: "invalid", Outcome: OutcomeRejected, Reason: err.Error(),
			Payload: payload(d.Body), Time: p.now()}
		return p.record(ctx, Result{}, rec)
	}
	log = log.With("repo", ev.FullName(), "ref", ev.Ref)
	log.InfoContext(ctx, "webhook received", "kind", string(ev.Kind), "type", ev.Type, "revisions", len(ev.Revisions))

	base := Record{
		Delivery: d.ID, Project: ev.Project, Repo: ev.Repo, Branch: ev.Branch, Event: string(ev.Kind),
		Revisions: ev.Revisions, User: ev.User, Payload: payload(d.Body), Time: p.now(),
	}
	switch ev.Kind {
	case webhook.KindPush:
	case webhook.KindDelete:
		log.InfoContext(ctx, "branch deleted; archives kept")
		base.Outcome, base.Reason = OutcomeDeleted, "branch deleted; its archives are kept"
		return p.record(ctx, Result{}, base)
	default:
		log.InfoContext(ctx, "webhook ignored", "reason", ev.Reason)
		base.Outcome, base.Reason = OutcomeIgnored, ev.Reason
		return p.record(ctx, Result{}, base)
	}

	dec := p.cfg.Rules.Decide(ev.Project, ev.Repo, ev.Branch)
	if !dec.Archive {
		log.InfoContext(ctx, "push skipped", "reason", dec.Reason)
		base.Outcome, base.Reason = OutcomeIgnored, dec.Reason
		return p.record(ctx, Result{}, base)
	}

	url, err := clone.RepoURL(p.cfg.GitServer, ev.Project, ev.Repo)
	if err != nil {
		return Result{}, fmt.Errorf("archive %s@%s: %w", ev.FullName(), ev.Branch, err)
	}
	return p.Archive(ctx, Request{URL: url, Subfolders: dec.Subfolders, Base: base})
}

// record writes rec to the ledger and appends it to res. A duplicate means an
// earlier delivery of the same webhook already recorded it, which is success.
func (p *Pipeline) record(ctx context.Context, res Result, rec Record) (Result, error) {
	err := p.ledger.Record(ctx, rec)
	if err != nil && !errors.Is(err, ErrDuplicate) {
		return res, fmt.Errorf("record %s %s: %w", rec.Outcome, rec.Key, err)
	}
	res.Records = append(res.Records, rec)
	return res, nil
}

// payload keeps a bounded copy of a webhook body for the ledger.
func payload(body []byte) string {
	if len(body) > maxPayload {
		body = body[:maxPayload]
	}
	return string(body)
}

// short abbreviates a delivery id or hash for logs.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
