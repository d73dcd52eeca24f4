package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/backlog-webhook/backlog-webhook/handler/localdb"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

// adminSocket is the name, in the data directory, of the running server's admin socket.
const adminSocket = "serve.sock"

// reader is what list, get and dead need: the ledger, the store and the dead letters,
// read from the data directory or, while a server holds it, through the server.
type reader interface {
	pipeline.Historian
	pipeline.Opener
	Dead() ([]localdb.Message, error)
	Redrive(seq uint64) error
	Close() error
}

// openReader opens the data directory or, when a server is running on it, that
// server's admin socket (the server holds the database file while it runs).
func (c *localConfig) openReader(ctx context.Context) (reader, error) {
	r := newRemote(filepath.Join(c.Data, adminSocket))
	if _, err := r.History(ctx, pipeline.Query{Limit: 1}); err == nil {
		return r, nil
	}
	l, err := c.open()
	if err != nil {
		return nil, err
	}
	return l, nil
}

// History implements pipeline.Historian over the local ledger.
func (l *local) History(ctx context.Context, q pipeline.Query) ([]pipeline.Record, error) {
	return l.db.History(ctx, q)
}

// Open implements pipeline.Opener over the local store.
func (l *local) Open(ctx context.Context, key, version string) (io.ReadCloser, pipeline.Object, error) {
	return l.store.Open(ctx, key, version)
}

// Dead lists the local dead letters.
func (l *local) Dead() ([]localdb.Message, error) { return l.db.Dead() }

// Redrive queues a local dead letter again.
func (l *local) Redrive(seq uint64) error { return l.db.Redrive(seq) }

// remote reads through the admin API of a running server (handler/server.Admin).
type remote struct{ client *http.Client }

func newRemote(socket string) *remote {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}
	return &remote{client: &http.Client{Transport: &http.Transport{DialContext: dial}}}
}

func (r *remote) get(ctx context.Context, method, path string, q url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://server"+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("running server: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		err := errors.New(strings.TrimSpace(string(msg)))
		if resp.StatusCode == http.StatusNotFound {
			err = fmt.Errorf("%w: %w", pipeline.ErrNotFound, err)
		}
		return nil, fmt.Errorf("running server: %w", err)
	}
	return resp, nil
}

func (r *remote) decode(ctx context.Context, method, path string, q url.Values, v any) error {
	resp, err := r.get(ctx, method, path, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// History implements pipeline.Historian.
func (r *remote) History(ctx context.Context, q pipeline.Query) ([]pipeline.Record, error) {
	var recs []pipeline.Record
	err := r.decode(ctx, http.MethodGet, "/records", url.Values{"project": {q.Project}, "repo": {q.Repo},
		"branch": {q.Branch}, "commit": {q.Commit}, "limit": {strconv.Itoa(q.Limit)}}, &recs)
	return recs, err
}

// Open implements pipeline.Opener; the Object it returns names only the key and version.
func (r *remote) Open(ctx context.Context, key, version string) (io.ReadCloser, pipeline.Object, error) {
	resp, err := r.get(ctx, http.MethodGet, "/archive", url.Values{"key": {key}, "version": {version}})
	if err != nil {
		return nil, pipeline.Object{}, err
	}
	return resp.Body, pipeline.Object{Key: key, Version: version}, nil
}

// Dead lists the server's dead letters.
func (r *remote) Dead() ([]localdb.Message, error) {
	var dead []localdb.Message
	err := r.decode(context.Background(), http.MethodGet, "/dead", nil, &dead)
	return dead, err
}

// Redrive asks the server to queue a dead letter again; it processes it at once.
func (r *remote) Redrive(seq uint64) error {
	var ok struct{}
	return r.decode(context.Background(), http.MethodPost, "/redrive", url.Values{"seq": {strconv.FormatUint(seq, 10)}},
		&ok)
}

// Close releases idle connections.
func (r *remote) Close() error {
	r.client.CloseIdleConnections()
	return nil
}
