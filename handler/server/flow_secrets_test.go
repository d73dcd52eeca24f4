package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/server"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
	"github.com/backlog-webhook/backlog-webhook/internal/syncbuf"
)

// The whole local flow, good and bad, with every log line, HTTP answer, error, dead
// letter and ledger record captured: none holds the webhook token or a line of a private key.
func TestNoTokenOrKeyMaterialInLogsAnswersOrErrors(t *testing.T) {
	var logs syncbuf.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFlow(t, log)
	const token = "TOKEN-4e1d-do-not-leak-7a9b"
	other, otherPub, err := gitserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}

	var seen []string // every error, answer and stored text the test can reach
	var errs []error
	process := func(ctx context.Context, d webhook.Delivery) error {
		err := f.handle(ctx, d)
		if err != nil {
			errs = append(errs, err)
		}
		return err
	}
	url, w := serve(t, f, token, process, server.WorkerConfig{Workers: 1, MaxAttempts: 2,
		Backoff: func(int) time.Duration { return time.Millisecond }})
	base := strings.TrimSuffix(url, token)
	n := 0
	push := func() {
		n++
		_, raw := postJSON(t, url, pushBody("DEMO", "api", f.commit(t, "DEMO", "api", strings.Repeat("x", n))))
		seen = append(seen, string(raw))
		waitIdle(t, w)
	}

	push() // works
	for _, u := range []string{base + token + "x", base + token[:len(token)-1], base + strings.ToLower(token),
		base + token + "/", base} {
		_, raw := postJSON(t, u, pushBody("DEMO", "api", strings.Repeat("a", 40)))
		seen = append(seen, string(raw))
	}
	for _, body := range []string{`{"type":`, "\xff", `{"type":12,"project":{"projectKey":"../x"}}`} {
		_, raw := postJSON(t, url, []byte(body))
		seen = append(seen, string(raw))
	}

	writeFile(t, f.KeyFile, other) // a key the server refuses
	push()
	writeFile(t, f.KeyFile, other[:len(other)/2]) // a damaged key file
	push()
	writeFile(t, f.KeyFile, f.PrivateKey)
	writeFile(t, f.KnownHostsFile, []byte(knownhosts.Line([]string{knownhosts.Normalize(f.Git.Addr())}, otherPub)+"\n"))
	push() // host key mismatch
	writeFile(t, f.KnownHostsFile, f.Git.KnownHosts())
	push() // works again

	dead, err := f.DB.Dead()
	if err != nil {
		t.Fatal(err)
	}
	hist, err := f.DB.History(t.Context(), pipeline.Query{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{dead, hist} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, string(b))
	}
	for _, e := range errs {
		seen = append(seen, e.Error())
	}
	all := logs.String() + "\n" + strings.Join(seen, "\n")

	// The run did exercise what it claims: both successes, the refusals and their dead letters.
	if len(dead) != 3 || len(errs) != 6 || strings.Count(logs.String(), `"msg":"archived"`) != 2 ||
		!strings.Contains(all, "refused") || !strings.Contains(all, "mismatch") {
		t.Fatalf("%d dead letters and %d errors (want 3 and 6); logs:\n%s", len(dead), len(errs), logs.String())
	}

	secrets := []string{token}
	for _, key := range [][]byte{f.PrivateKey, other} {
		for line := range strings.Lines(string(key)) {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "-----") {
				secrets = append(secrets, l)
			}
		}
	}
	for _, s := range secrets {
		if i := strings.Index(all, s); i >= 0 {
			t.Errorf("secret material %.6s… appears in the output near %q", s, all[max(0, i-80):i])
		}
	}
}
