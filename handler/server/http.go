// Package server is the local webhook server: it takes Backlog's webhooks over HTTP,
// writes each one durably to the local queue before acknowledging it, and feeds the
// queue to a Worker that runs the pipeline in order per repository.
package server

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/localdb"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

// PathPrefix is where webhooks are accepted: POST PathPrefix + token.
const PathPrefix = "/backlog-webhook/"

// Queue is the durable queue the intake writes to.
type Queue interface {
	// Enqueue stores d durably under group before it returns; dup reports a
	// delivery with the same ID that is still queued, in which case nothing is added.
	Enqueue(group string, d webhook.Delivery) (msg localdb.Message, dup bool, err error)
}

// Intake is the HTTP handler for Backlog's webhooks.
type Intake struct {
	token  string
	queue  Queue
	notify func(localdb.Message)
	log    *slog.Logger
	now    func() time.Time
}

// NewIntake returns an Intake that accepts webhooks whose path carries token, queues
// them and passes each newly queued message to notify (typically Worker.Add).
func NewIntake(token string, queue Queue, notify func(localdb.Message), log *slog.Logger) *Intake {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Intake{token: token, queue: queue, notify: notify, log: log, now: func() time.Time { return time.Now().UTC() }}
}

// reply is the JSON body of every answer.
type reply struct {
	Delivery  string `json:"delivery,omitempty"`
	Queued    bool   `json:"queued"`
	Duplicate bool   `json:"duplicate,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Error     string `json:"error,omitempty"`
}

// ServeHTTP implements http.Handler.
func (in *Intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.URL.Path, PathPrefix)
	if !ok || token == "" || strings.Contains(token, "/") {
		in.refuse(w, r, http.StatusNotFound, "not found: webhooks are accepted at "+PathPrefix+"<token>")
		return
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(in.token)) != 1 {
		in.refuse(w, r, http.StatusForbidden, "forbidden: wrong webhook token")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		in.refuse(w, r, http.StatusMethodNotAllowed, "method not allowed: use POST")
		return
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webhook.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			in.refuse(w, r, http.StatusRequestEntityTooLarge, "body too large: the limit is "+
				humanBytes(webhook.MaxBodyBytes))
			return
		}
		in.refuse(w, r, http.StatusBadRequest, "read body: "+err.Error())
		return
	}

	ctype := r.Header.Get("Content-Type")
	ev, err := webhook.Parse(ctype, body)
	if err != nil {
		in.refuse(w, r, http.StatusBadRequest, err.Error())
		return
	}

	d := webhook.NewDelivery(ctype, body, in.now())
	msg, dup, err := in.queue.Enqueue(group(ev), d)
	if err != nil {
		in.log.Error("webhook not queued", "delivery", d.ID[:12], "err", err.Error())
		write(w, http.StatusServiceUnavailable, reply{Error: "queue unavailable; retry later"})
		return
	}
	in.log.Info("webhook queued", "delivery", d.ID[:12], "repo", ev.FullName(), "kind", string(ev.Kind),
		"duplicate", dup)
	if !dup && in.notify != nil {
		in.notify(msg)
	}
	write(w, http.StatusAccepted, reply{Delivery: d.ID, Queued: !dup, Duplicate: dup, Kind: string(ev.Kind)})
}

// group is the ordering unit of an event: its repository, or one shared group for
// events that name none.
func group(ev webhook.Event) string {
	if ev.Project == "" || ev.Repo == "" {
		return "unrouted"
	}
	return ev.FullName()
}

func (in *Intake) refuse(w http.ResponseWriter, r *http.Request, status int, reason string) {
	in.log.Warn("webhook refused", "status", status, "reason", reason, "remote", r.RemoteAddr)
	write(w, status, reply{Error: reason})
}

func write(w http.ResponseWriter, status int, body reply) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
