package pipeline_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/layout"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/rules"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

func handle(t *testing.T, p *pipeline.Pipeline, d webhook.Delivery) pipeline.Result {
	t.Helper()
	res, err := p.Handle(context.Background(), d)
	if err != nil {
		t.Fatalf("handle: %v", err)
	}
	return res
}

func only(t *testing.T, res pipeline.Result) pipeline.Record {
	t.Helper()
	if len(res.Records) != 1 {
		t.Fatalf("got %d records, want 1: %+v", len(res.Records), res.Records)
	}
	return res.Records[0]
}

func zipNames(t *testing.T, s pipeline.Opener, key, version string) []string {
	t.Helper()
	r, _, err := s.Open(context.Background(), key, version)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%s@%s is not a zip: %v", key, version, err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	return names
}

func TestPushArchivesThenSkipsUnchangedTree(t *testing.T) {
	f := newFixture(t, rules.Default())
	p := f.pipeline(nil, nil)
	c1 := f.Commit(t, "DEMO", "api", "main", files("one\n"))
	key := layout.Key("DEMO", "api", "main")

	first := only(t, handle(t, p, push(t, "DEMO", "api", "main", c1)))
	if first.Outcome != pipeline.OutcomeArchived || first.Commit != c1 || first.Key != key || first.Version == "" {
		t.Fatalf("first push: %+v", first)
	}
	head, err := f.Store.Head(context.Background(), key)
	if err != nil || head.Version != first.Version || head.Meta.Tree != first.Tree || head.Meta.Commit != c1 {
		t.Fatalf("head %+v (err %v) does not match record %+v", head, err, first)
	}
	if got := strings.Join(zipNames(t, f.Store, key, first.Version), " "); !strings.Contains(got, "bin/run.sh") ||
		!strings.Contains(got, "docs/current.md") {
		t.Fatalf("archive holds %s", got)
	}

	// The same webhook again, and a different webhook for the same tree: no new version.
	again := only(t, handle(t, p, push(t, "DEMO", "api", "main", c1)))
	if again.Outcome != pipeline.OutcomeUnchanged && again.Outcome != pipeline.OutcomeArchived {
		t.Fatalf("redelivery: %+v", again)
	}
	other := push(t, "DEMO", "api", "main", c1)
	other.Body = append(other.Body, ' ')
	other = webhook.NewDelivery("application/json", other.Body, time.Now())
	if r := only(t, handle(t, p, other)); r.Outcome != pipeline.OutcomeUnchanged || r.Version != first.Version {
		t.Fatalf("same tree, new webhook: %+v", r)
	}

	c2 := f.Commit(t, "DEMO", "api", "main", files("two\n"))
	second := only(t, handle(t, p, push(t, "DEMO", "api", "main", c2)))
	if second.Outcome != pipeline.OutcomeArchived || second.Version == first.Version || second.Commit != c2 {
		t.Fatalf("second push: %+v", second)
	}
	versions, err := f.Store.Versions(context.Background(), key)
	if err != nil || len(versions) != 2 {
		t.Fatalf("%d versions (err %v), want 2", len(versions), err)
	}
	hist, err := f.DB.History(context.Background(), pipeline.Query{Commit: c2})
	if err != nil || len(hist) != 1 || hist[0].Version != second.Version {
		t.Fatalf("history of %s: %+v (err %v)", c2, hist, err)
	}
}

func TestPushArchivesEachSubfolder(t *testing.T) {
	r, err := rules.Parse([]byte(`{"branches":["main"],"repositories":{"DEMO/mono":{"subfolders":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, r)
	c := f.Commit(t, "DEMO", "mono", "main", files("x\n"))
	res := handle(t, f.pipeline(nil, nil), push(t, "DEMO", "mono", "main", c))
	var keys []string
	for _, rec := range res.Records {
		keys = append(keys, rec.Key)
		if rec.Outcome != pipeline.OutcomeArchived {
			t.Errorf("%s: %s", rec.Key, rec.Outcome)
		}
	}
	want := layout.SubfolderKey("DEMO", "mono", "main", "bin") + " " + layout.SubfolderKey("DEMO", "mono", "main", "docs")
	if strings.Join(keys, " ") != want {
		t.Fatalf("keys %v, want %s", keys, want)
	}
	if names := zipNames(t, f.Store, res.Records[1].Key, ""); strings.Join(names, " ") != "current.md guide.md" {
		t.Fatalf("docs archive holds %v", names)
	}
}

func TestEventsThatArchiveNothingAreRecorded(t *testing.T) {
	f := newFixture(t, rules.Default())
	p := f.pipeline(nil, nil)
	form := func(js string) webhook.Delivery {
		return webhook.NewDelivery("application/x-www-form-urlencoded",
			[]byte("payload="+url.QueryEscape(js)), time.Now())
	}
	tests := []struct {
		name string
		d    webhook.Delivery
		want pipeline.Outcome
	}{
		{"branch without rule", push(t, "DEMO", "api", "feature/x", strings.Repeat("a", 40)), pipeline.OutcomeIgnored},
		{"repository created", webhook.NewDelivery("application/json",
			[]byte(`{"type":13,"project":{"projectKey":"DEMO"},"content":{"repository":{"name":"api"}}}`),
			time.Now()), pipeline.OutcomeIgnored},
		{"branch deleted", form(`{"before":"` + strings.Repeat("a", 40) + `","after":"` + strings.Repeat("0", 40) +
			`","ref":"refs/heads/main","repository":{"url":"https://s.backlog.com/git/DEMO/api","name":"api"}}`),
			pipeline.OutcomeDeleted},
		{"malformed body", webhook.NewDelivery("application/json", []byte(`{"type":`), time.Now()),
			pipeline.OutcomeRejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := only(t, handle(t, p, tc.d))
			if rec.Outcome != tc.want || rec.Reason == "" || rec.Payload == "" {
				t.Fatalf("got %+v, want %s with a reason and the payload", rec, tc.want)
			}
		})
	}
	hist, err := f.DB.History(context.Background(), pipeline.Query{})
	if err != nil || len(hist) != len(tests) {
		t.Fatalf("ledger holds %d records (err %v), want %d", len(hist), err, len(tests))
	}
}

// flakyLedger fails its first n writes of archived records, as a database that becomes
// unreachable while the archive is uploaded.
type flakyLedger struct {
	pipeline.Ledger
	n int
}

func (l *flakyLedger) Record(ctx context.Context, r pipeline.Record) error {
	if r.Outcome == pipeline.OutcomeArchived && l.n > 0 {
		l.n--
		return errors.New("ledger unavailable")
	}
	return l.Ledger.Record(ctx, r)
}

func TestLedgerFailureAfterUploadIsCompletedByRedelivery(t *testing.T) {
	f := newFixture(t, rules.Default())
	c := f.Commit(t, "DEMO", "api", "main", files("one\n"))
	d := push(t, "DEMO", "api", "main", c)
	p := f.pipeline(nil, &flakyLedger{Ledger: f.DB, n: 1})

	if _, err := p.Handle(context.Background(), d); err == nil {
		t.Fatal("a failed ledger write must fail the delivery so it is retried")
	}
	if v, err := f.Store.Versions(context.Background(), layout.Key("DEMO", "api", "main")); err != nil || len(v) != 1 {
		t.Fatalf("the first attempt stored %d versions (err %v), want 1 before its record failed", len(v), err)
	}
	rec := only(t, handle(t, p, d))
	if rec.Outcome != pipeline.OutcomeArchived || rec.Commit != c {
		t.Fatalf("redelivery recorded %+v, want the archived version", rec)
	}
	versions, err := f.Store.Versions(context.Background(), layout.Key("DEMO", "api", "main"))
	if err != nil || len(versions) != 1 || versions[0].Version != rec.Version {
		t.Fatalf("versions %+v (err %v), want exactly the recorded one", versions, err)
	}
}
