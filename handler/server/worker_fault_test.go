package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
	"github.com/backlog-webhook/backlog-webhook/handler/layout"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/server"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

func TestSSHRefusalEndsInDeadLettersWhileOtherRepositoriesFlow(t *testing.T) {
	_, otherPub, err := gitserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		start func(t *testing.T, f *flow) *gitserver.Server // the server LOCKED's repositories live on
		cause string
	}{
		{"key refused", func(t *testing.T, f *flow) *gitserver.Server {
			s, err := gitserver.Start(gitserver.Options{Root: f.Root, AuthorizedKeys: []gossh.PublicKey{otherPub}})
			if err != nil {
				t.Fatal(err)
			}
			appendFile(t, f.KnownHostsFile, s.KnownHosts())
			return s
		}, "refused"},
		{"host key mismatch", func(t *testing.T, f *flow) *gitserver.Server {
			s, err := gitserver.Start(gitserver.Options{Root: f.Root, AuthorizedKeys: []gossh.PublicKey{
				mustPublic(t, f.PrivateKey)}})
			if err != nil {
				t.Fatal(err)
			}
			appendFile(t, f.KnownHostsFile, []byte(knownhosts.Line([]string{knownhosts.Normalize(s.Addr())}, otherPub)+"\n"))
			return s
		}, "mismatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFlow(t, nil)
			locked := tc.start(t, f)
			t.Cleanup(func() { _ = locked.Close() })
			lockedPipe := f.pipelineFor(locked.ServerURL("git"))
			route := func(ctx context.Context, d webhook.Delivery) error {
				ev, err := webhook.Parse(d.ContentType, d.Body)
				if err == nil && ev.Project == "LOCKED" {
					_, err = lockedPipe.Handle(ctx, d)
					return err
				}
				return f.handle(ctx, d)
			}
			const attempts = 3
			url, w := serve(t, f, "tok", route, server.WorkerConfig{Workers: 2, MaxAttempts: attempts,
				Backoff: func(int) time.Duration { return 20 * time.Millisecond }})

			lockedID := accept(t, url, pushBody("LOCKED", "api", f.commit(t, "LOCKED", "api", "locked\n")))
			var others []string
			for i := range 6 {
				repo := fmt.Sprintf("svc%d", i)
				accept(t, url, pushBody("DEMO", repo, f.commit(t, "DEMO", repo, repo+"\n")))
				others = append(others, repo)
			}
			waitIdle(t, w)

			dead, err := f.DB.Dead()
			if err != nil {
				t.Fatal(err)
			}
			if len(dead) != 1 || dead[0].Delivery.ID != lockedID || dead[0].Attempts != attempts ||
				!strings.Contains(dead[0].LastError, tc.cause) {
				t.Fatalf("dead letters %+v, want the LOCKED push after %d attempts, its cause naming %q", dead,
					attempts, tc.cause)
			}
			for _, repo := range others {
				hist, err := f.DB.History(t.Context(), pipeline.Query{Project: "DEMO", Repo: repo})
				if err != nil || len(hist) != 1 || hist[0].Outcome != pipeline.OutcomeArchived {
					t.Errorf("DEMO/%s: ledger %+v (err %v), want archived", repo, hist, err)
				}
			}
			if p, err := f.DB.Pending(); err != nil || len(p) != 0 {
				t.Fatalf("%d still queued (err %v)", len(p), err)
			}
		})
	}
}

func mustPublic(t *testing.T, priv []byte) gossh.PublicKey {
	t.Helper()
	s, err := gossh.ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s.PublicKey()
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, append(old, b...))
}

func TestDuplicatedAndReorderedPushesKeepOneVersionPerTreeInHistoryOrder(t *testing.T) {
	f := newFlow(t, nil)
	url, w := serve(t, f, "tok", f.handle, server.WorkerConfig{Workers: 2,
		Backoff: func(int) time.Duration { return 10 * time.Millisecond }})
	rng := rand.New(rand.NewPCG(7, 11))

	const commits = 20
	var ids []string // commit ids in history order
	var bodies [][]byte
	for i := range commits {
		ids = append(ids, f.commit(t, "DEMO", "api", fmt.Sprintf("revision %d\n", i)))
		bodies = append(bodies, pushBody("DEMO", "api", ids[i]))

		// This push, duplicated, and a few older ones again, in shuffled order, while the worker runs.
		batch := [][]byte{bodies[i], bodies[i]}
		for range rng.IntN(4) {
			batch = append(batch, bodies[rng.IntN(i+1)])
		}
		rng.Shuffle(len(batch), func(a, b int) { batch[a], batch[b] = batch[b], batch[a] })
		for _, b := range batch {
			accept(t, url, b)
		}
	}
	waitIdle(t, w)
	rng.Shuffle(len(bodies), func(a, b int) { bodies[a], bodies[b] = bodies[b], bodies[a] })
	for _, b := range bodies { // every push once more, late and out of order
		accept(t, url, b)
	}
	waitIdle(t, w)

	key := layout.Key("DEMO", "api", "main")
	versions, err := f.Store.Versions(t.Context(), key) // newest first
	if err != nil || len(versions) == 0 {
		t.Fatalf("versions: %d (err %v)", len(versions), err)
	}
	position := map[string]int{}
	for i, id := range ids {
		position[id] = i
	}
	trees, last := map[string]bool{}, -1
	for i := len(versions) - 1; i >= 0; i-- {
		_, obj, err := openVersion(t, f, key, versions[i].Version)
		if err != nil {
			t.Fatal(err)
		}
		pos, known := position[obj.Meta.Commit]
		if !known || pos <= last {
			t.Fatalf("version %s holds commit %s (position %d) after position %d: the branch went back",
				obj.Version, obj.Meta.Commit, pos, last)
		}
		if trees[obj.Meta.Tree] {
			t.Fatalf("tree %s stored twice", obj.Meta.Tree)
		}
		trees[obj.Meta.Tree], last = true, pos
	}
	if last != commits-1 {
		t.Fatalf("the current version holds commit position %d, want the tip %d", last, commits-1)
	}

	hist, err := f.DB.History(t.Context(), pipeline.Query{Project: "DEMO", Repo: "api"})
	if err != nil {
		t.Fatal(err)
	}
	archived := map[string]int{}
	for _, r := range hist {
		if r.Outcome == pipeline.OutcomeArchived {
			archived[r.Version]++
		}
	}
	if len(archived) != len(versions) {
		t.Fatalf("%d versions recorded as archived, %d stored", len(archived), len(versions))
	}
	for _, v := range versions {
		if archived[v.Version] != 1 {
			t.Fatalf("version %s has %d archived records, want 1", v.Version, archived[v.Version])
		}
	}
	t.Logf("%d commits, %d stored versions, %d ledger records", commits, len(versions), len(hist))
}

// openVersion reads one version's metadata back.
func openVersion(t *testing.T, f *flow, key, version string) (int64, pipeline.Object, error) {
	t.Helper()
	rc, obj, err := f.Store.Open(t.Context(), key, version)
	if err != nil {
		return 0, obj, err
	}
	defer rc.Close()
	return obj.Size, obj, nil
}
