package dynamoledger_test

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

func TestRecordRoundTrip(t *testing.T) {
	ledger, _ := newLedger(t)
	want := pipeline.Record{
		Delivery: "42", Project: "DEMO", Repo: "api", Branch: "feature/ログイン", Event: "git_push",
		Outcome: pipeline.OutcomeArchived, Reason: "tree changed", Commit: strings.Repeat("c", 40),
		Tree: strings.Repeat("d", 40), Key: "DEMO/api/feature/ログイン.zip", Version: "v1", Size: 12345,
		Duration: 1500 * time.Millisecond, Revisions: []string{"r1", "r2"}, User: "alice",
		Payload: `{"id":42,"type":12}`, Time: base,
	}

	if err := ledger.Record(t.Context(), want); err != nil {
		t.Fatalf("Record: %v", err)
	}
	got, err := ledger.History(t.Context(), pipeline.Query{Project: "DEMO", Repo: "api", Branch: "feature/ログイン"})
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("History = %+v\nwant [%+v]", got, want)
	}
}

func TestRecordIdempotency(t *testing.T) {
	rec := func(outcome pipeline.Outcome, key string, minute int) pipeline.Record {
		return pipeline.Record{Delivery: "7", Project: "DEMO", Repo: "api", Branch: "main", Event: "git_push",
			Outcome: outcome, Key: key, Version: string(outcome) + "-version", Time: at(minute)}
	}
	const key = "DEMO/api/main.zip"

	tests := []struct {
		name    string
		first   pipeline.Record
		second  pipeline.Record
		wantDup bool
		want    []pipeline.Outcome // outcomes in history, newest first
	}{
		{name: "archived twice", first: rec(pipeline.OutcomeArchived, key, 0),
			second: rec(pipeline.OutcomeArchived, key, 1), wantDup: true, want: []pipeline.Outcome{"archived"}},
		{name: "archived then failed", first: rec(pipeline.OutcomeArchived, key, 0),
			second: rec(pipeline.OutcomeFailed, key, 1), wantDup: true, want: []pipeline.Outcome{"archived"}},
		{name: "failed then archived replaces", first: rec(pipeline.OutcomeFailed, key, 0),
			second: rec(pipeline.OutcomeArchived, key, 1), want: []pipeline.Outcome{"archived"}},
		{name: "failed then failed replaces", first: rec(pipeline.OutcomeFailed, key, 0),
			second: rec(pipeline.OutcomeFailed, key, 1), want: []pipeline.Outcome{"failed"}},
		{name: "failed retried at the same time", first: rec(pipeline.OutcomeFailed, key, 0),
			second: rec(pipeline.OutcomeUnchanged, key, 0), want: []pipeline.Outcome{"unchanged"}},
		{name: "ignored without key twice", first: rec(pipeline.OutcomeIgnored, "", 0),
			second: rec(pipeline.OutcomeIgnored, "", 1), wantDup: true, want: []pipeline.Outcome{"ignored"}},
		{name: "same delivery, other key", first: rec(pipeline.OutcomeArchived, key, 0),
			second: rec(pipeline.OutcomeArchived, "DEMO/api/main/docs.zip", 0),
			want:   []pipeline.Outcome{"archived", "archived"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ledger, _ := newLedger(t)
			ctx := t.Context()

			if err := ledger.Record(ctx, tc.first); err != nil {
				t.Fatalf("first Record: %v", err)
			}
			err := ledger.Record(ctx, tc.second)
			if tc.wantDup != errors.Is(err, pipeline.ErrDuplicate) || (!tc.wantDup && err != nil) {
				t.Fatalf("second Record err = %v, want duplicate: %v", err, tc.wantDup)
			}

			got, err := ledger.History(ctx, pipeline.Query{Project: "DEMO", Repo: "api", Branch: "main"})
			if err != nil {
				t.Fatalf("History: %v", err)
			}
			var outcomes []pipeline.Outcome
			for _, r := range got {
				outcomes = append(outcomes, r.Outcome)
			}
			if !reflect.DeepEqual(outcomes, tc.want) {
				t.Fatalf("history outcomes = %v, want %v", outcomes, tc.want)
			}
			if tc.wantDup && got[0].Version != tc.first.Version {
				t.Fatalf("duplicate changed the record: version %q, want %q", got[0].Version, tc.first.Version)
			}
		})
	}
}

func TestConcurrentRedeliveryRecordsOnce(t *testing.T) {
	ledger, _ := newLedger(t)
	const writers = 8

	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			errs[i] = ledger.Record(t.Context(), pipeline.Record{Delivery: "9", Project: "DEMO", Repo: "api",
				Branch: "main", Event: "git_push", Outcome: pipeline.OutcomeArchived, Key: "DEMO/api/main.zip",
				Version: "v", Time: at(i)})
		})
	}
	wg.Wait()

	stored := 0
	for _, err := range errs {
		switch {
		case err == nil:
			stored++
		case !errors.Is(err, pipeline.ErrDuplicate):
			t.Errorf("Record: %v", err)
		}
	}
	got, err := ledger.History(t.Context(), pipeline.Query{Project: "DEMO"})
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	if stored != 1 || len(got) != 1 {
		t.Fatalf("%d writers succeeded and %d records exist, want 1 and 1", stored, len(got))
	}
}

func TestLongPayloadIsCut(t *testing.T) {
	ledger, _ := newLedger(t)
	rec := pipeline.Record{Delivery: "1", Project: "DEMO", Repo: "api", Branch: "main", Event: "git_push",
		Outcome: pipeline.OutcomeIgnored, Payload: strings.Repeat("x", 300<<10), Time: base}

	if err := ledger.Record(t.Context(), rec); err != nil {
		t.Fatalf("Record: %v", err)
	}
	got, err := ledger.History(t.Context(), pipeline.Query{Project: "DEMO", Repo: "api", Branch: "main"})
	if err != nil || len(got) != 1 {
		t.Fatalf("History = %d records, %v; want 1", len(got), err)
	}
	if n := len(got[0].Payload); n != 256<<10 {
		t.Fatalf("stored payload is %d bytes, want %d", n, 256<<10)
	}
}

// A body the handler cannot read names no project, repository or branch; it is
// still recorded, and found again in the history of everything.
func TestRejectedBodyWithoutNamesIsRecorded(t *testing.T) {
	l, _ := newLedger(t)
	rec := pipeline.Record{Delivery: "d-rejected", Event: "invalid", Outcome: pipeline.OutcomeRejected,
		Reason: `malformed body: unexpected end of JSON input`, Payload: `{"type":`, Time: at(0)}
	if err := l.Record(t.Context(), rec); err != nil {
		t.Fatalf("Record: %v", err)
	}
	if err := l.Record(t.Context(), rec); !errors.Is(err, pipeline.ErrDuplicate) {
		t.Fatalf("second Record: %v, want ErrDuplicate", err)
	}
	got, err := l.History(t.Context(), pipeline.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Outcome != pipeline.OutcomeRejected || got[0].Payload != rec.Payload {
		t.Fatalf("History = %+v", got)
	}
}
