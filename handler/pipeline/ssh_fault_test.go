package pipeline_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/backlog-webhook/backlog-webhook/handler/clone"
	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
	"github.com/backlog-webhook/backlog-webhook/handler/internal/faults"
	"github.com/backlog-webhook/backlog-webhook/handler/internal/localenv"
	"github.com/backlog-webhook/backlog-webhook/handler/layout"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/rules"
	"github.com/backlog-webhook/backlog-webhook/handler/sqsbatch"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

func TestSSHRefusalsNameTheirCause(t *testing.T) {
	other, otherPub, err := gitserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		break_ func(t *testing.T, e *localenv.Env)
		want   error
		text   string
	}{
		{"key refused", func(t *testing.T, e *localenv.Env) { writeFile(t, e.KeyFile, other) }, clone.ErrAuthRefused,
			"refused"},
		{"host key mismatch", func(t *testing.T, e *localenv.Env) {
			writeFile(t, e.KnownHostsFile, []byte(knownhosts.Line([]string{knownhosts.Normalize(e.Git.Addr())}, otherPub)+"\n"))
		}, clone.ErrHostKeyMismatch, "mismatch"},
		{"host unknown", func(t *testing.T, e *localenv.Env) {
			writeFile(t, e.KnownHostsFile, []byte(knownhosts.Line([]string{"[127.0.0.1]:1"}, e.Git.HostKey())+"\n"))
		}, clone.ErrHostUnknown, "known_hosts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := localenv.New(t, nil)
			c := e.Commit(t, "DEMO", "api", "main", files("one\n"))
			tc.break_(t, e)
			store, db := e.Store, e.DB
			p := pipeline.New(pipeline.Config{GitServer: e.Git.ServerURL("git"), Rules: rules.Default()},
				store, db, e.Keys(nil), nil)

			_, err := p.Handle(t.Context(), push(t, "DEMO", "api", "main", c))
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) ||
				!strings.Contains(err.Error(), "DEMO/api") {
				t.Fatalf("error %v, want %v naming the repository and %q", err, tc.want, tc.text)
			}
			for _, key := range [][]byte{e.PrivateKey, other} {
				for line := range strings.Lines(string(key)) {
					if l := strings.TrimSpace(line); len(l) > 8 && strings.Contains(err.Error(), l) {
						t.Fatalf("the error repeats a line of a private key: %v", err)
					}
				}
			}
			if _, err := store.Head(t.Context(), layout.Key("DEMO", "api", "main")); !errors.Is(err, pipeline.ErrNotFound) {
				t.Fatalf("a refused clone stored something: %v", err)
			}
			if hist, err := db.History(t.Context(), pipeline.Query{}); err != nil || len(hist) != 0 {
				t.Fatalf("a refused clone was recorded as done: %+v (err %v)", hist, err)
			}
		})
	}
}

func TestStalledCloneIsStoppedBeforeTheLambdaDeadline(t *testing.T) {
	e := localenv.New(t, nil)
	stalled := e.Commit(t, "DEMO", "big", "main", bigFiles(2, 4<<20))
	next := e.Commit(t, "DEMO", "small", "main", files("small\n"))
	proxy, err := faults.StartTCP(e.Git.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	proxy.StallAfter(256 << 10) // past the SSH handshake, in the middle of the pack
	trustAt(t, e, proxy.Addr())

	store, db := e.Store, e.DB
	tmp := t.TempDir()
	p := pipeline.New(pipeline.Config{GitServer: "git@" + proxy.Addr(), Rules: rules.Default(), TempDir: tmp},
		store, db, e.Keys(nil), nil)
	h := &sqsbatch.Handler{Reserve: 2 * time.Second, Process: func(ctx context.Context, d webhook.Delivery) error {
		_, err := p.Handle(ctx, d)
		return err
	}}
	batch := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m-stalled", Body: string(push(t, "DEMO", "big", "main", stalled).Body),
			Attributes: map[string]string{"MessageGroupId": "DEMO/big"}},
		{MessageId: "m-next", Body: string(push(t, "DEMO", "small", "main", next).Body),
			Attributes: map[string]string{"MessageGroupId": "DEMO/small"}},
	}}

	deadline := time.Now().Add(8 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	type answer struct {
		resp events.SQSEventResponse
		err  error
		at   time.Time
	}
	done := make(chan answer, 1)
	go func() {
		resp, err := h.Handle(ctx, batch)
		done <- answer{resp, err, time.Now()}
	}()
	var a answer
	select {
	case a = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the batch never returned: the stalled clone was not stopped")
	}

	if a.err != nil {
		t.Fatal(a.err)
	}
	if !a.at.Before(deadline) {
		t.Fatalf("the batch returned %v after the deadline; it must stop before it", a.at.Sub(deadline))
	}
	if proxy.Stalls() == 0 {
		t.Fatal("the stream never stalled: the test exercised nothing")
	}
	var failed []string
	for _, f := range a.resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if strings.Join(failed, " ") != "m-stalled m-next" {
		t.Fatalf("batch item failures %v, want the stalled message and the one after it", failed)
	}
	if hist, err := db.History(t.Context(), pipeline.Query{}); err != nil || len(hist) != 0 {
		t.Fatalf("ledger %+v (err %v), want nothing recorded for a stopped clone", hist, err)
	}

	// The abandoned clone ends by itself and removes its directory: /tmp stays bounded.
	for wait := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		left, err := os.ReadDir(tmp)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(wait) {
			t.Fatalf("%d clone directories left in the temp dir a minute after the batch stopped", len(left))
		}
	}
}
