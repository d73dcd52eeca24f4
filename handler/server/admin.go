package server

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/backlog-webhook/backlog-webhook/handler/localdb"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

// AdminData is what the admin API reads and changes: the ledger, the store and the dead letters.
type AdminData interface {
	pipeline.Historian
	Dead() ([]localdb.Message, error)
	Redrive(seq uint64) error
}

// Admin is the read API of a running server, for the commands that cannot open the
// database while the server holds it (list, get, dead). It is meant for a Unix
// socket in the data directory, whose file permissions are its access control.
//
//	GET  /records?project=&repo=&branch=&commit=&limit=  ledger records, newest first (JSON)
//	GET  /archive?key=&version=                          a stored archive (the current one without version)
//	GET  /dead                                           dead letters (JSON)
//	POST /redrive?seq=                                   queue a dead letter again
type Admin struct {
	data    AdminData
	store   pipeline.Opener
	requeue func() // called after a redrive so the worker picks the message up
	log     *slog.Logger
}

// NewAdmin returns the admin API over data and store; requeue may be nil.
func NewAdmin(data AdminData, store pipeline.Opener, requeue func(), log *slog.Logger) *Admin {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Admin{data: data, store: store, requeue: requeue, log: log}
}

// ServeHTTP implements http.Handler.
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/records":
		limit, _ := strconv.Atoi(q.Get("limit"))
		recs, err := a.data.History(r.Context(), pipeline.Query{Project: q.Get("project"), Repo: q.Get("repo"),
			Branch: q.Get("branch"), Commit: q.Get("commit"), Limit: limit})
		a.reply(w, recs, err)
	case r.Method == http.MethodGet && r.URL.Path == "/archive":
		a.archive(w, r, q.Get("key"), q.Get("version"))
	case r.Method == http.MethodGet && r.URL.Path == "/dead":
		dead, err := a.data.Dead()
		a.reply(w, dead, err)
	case r.Method == http.MethodPost && r.URL.Path == "/redrive":
		seq, err := strconv.ParseUint(q.Get("seq"), 10, 64)
		if err != nil {
			http.Error(w, "seq must be a sequence number", http.StatusBadRequest)
			return
		}
		if err = a.data.Redrive(seq); err == nil && a.requeue != nil {
			a.requeue()
		}
		a.reply(w, struct{}{}, err)
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

func (a *Admin) archive(w http.ResponseWriter, r *http.Request, key, version string) {
	rc, _, err := a.store.Open(r.Context(), key, version)
	if err != nil {
		a.reply(w, nil, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/zip")
	if _, err := io.Copy(w, rc); err != nil {
		a.log.Warn("admin: archive not sent whole", "key", key, "err", err.Error())
	}
}

// reply writes v as JSON, or err with a status that says whether the thing was missing.
func (a *Admin) reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, pipeline.ErrNotFound) {
			status = http.StatusNotFound
		}
		http.Error(w, err.Error(), status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
