package dynamoledger_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/backlog-webhook/backlog-webhook/handler/dynamoledger"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

func TestHistoryNewestFirst(t *testing.T) {
	ledger, _ := newLedger(t)
	seed := []pipeline.Record{
		{Delivery: "d1", Project: "DEMO", Repo: "api", Branch: "main", Commit: "c1", Outcome: "archived", Key: "k1"},
		{Delivery: "d2", Project: "DEMO", Repo: "api", Branch: "develop", Commit: "c2", Outcome: "archived", Key: "k2"},
		{Delivery: "d3", Project: "DEMO", Repo: "web", Branch: "main", Commit: "c1", Outcome: "archived", Key: "k3"},
		{Delivery: "d4", Project: "DEMO", Repo: "api", Branch: "main", Commit: "c3", Outcome: "archived", Key: "k1"},
		{Delivery: "d5", Project: "OTHER", Repo: "api", Branch: "main", Commit: "c4", Outcome: "unchanged", Key: "k4"},
		{Delivery: "d6", Project: "DEMO", Repo: "api", Branch: "main", Commit: "c3", Outcome: "unchanged", Key: "k1"},
		{Delivery: "d7", Project: "DEMO", Outcome: "ignored", Reason: "pull request"},
	}
	// Write out of time order: the ledger orders by record time, not by write order.
	for _, i := range []int{3, 0, 6, 1, 5, 2, 4} {
		rec := seed[i]
		rec.Event, rec.Time = "git_push", at(i)
		if err := ledger.Record(t.Context(), rec); err != nil {
			t.Fatalf("Record %s: %v", rec.Delivery, err)
		}
	}

	tests := []struct {
		name string
		q    pipeline.Query
		want []string
	}{
		{name: "branch", q: pipeline.Query{Project: "DEMO", Repo: "api", Branch: "main"}, want: []string{"d6", "d4", "d1"}},
		{name: "branch with limit", q: pipeline.Query{Project: "DEMO", Repo: "api", Branch: "main", Limit: 2},
			want: []string{"d6", "d4"}},
		{name: "repository, all branches", q: pipeline.Query{Project: "DEMO", Repo: "api"},
			want: []string{"d6", "d4", "d2", "d1"}},
		{name: "project", q: pipeline.Query{Project: "DEMO"}, want: []string{"d7", "d6", "d4", "d3", "d2", "d1"}},
		{name: "project and branch", q: pipeline.Query{Project: "DEMO", Branch: "main"},
			want: []string{"d6", "d4", "d3", "d1"}},
		{name: "commit", q: pipeline.Query{Commit: "c1"}, want: []string{"d3", "d1"}},
		{name: "commit in one repository", q: pipeline.Query{Project: "DEMO", Repo: "api", Commit: "c1"},
			want: []string{"d1"}},
		{name: "commit, two records", q: pipeline.Query{Commit: "c3"}, want: []string{"d6", "d4"}},
		{name: "everything", q: pipeline.Query{}, want: []string{"d7", "d6", "d5", "d4", "d3", "d2", "d1"}},
		{name: "everything with limit", q: pipeline.Query{Limit: 3}, want: []string{"d7", "d6", "d5"}},
		{name: "repository name across projects", q: pipeline.Query{Repo: "api", Branch: "main"},
			want: []string{"d6", "d5", "d4", "d1"}},
		{name: "unknown commit", q: pipeline.Query{Commit: "nope"}, want: nil},
		{name: "unknown branch", q: pipeline.Query{Project: "DEMO", Repo: "api", Branch: "nope"}, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ledger.History(t.Context(), tc.q)
			if err != nil {
				t.Fatalf("History: %v", err)
			}
			var deliveries []string
			for _, r := range got {
				deliveries = append(deliveries, r.Delivery)
			}
			if !reflect.DeepEqual(deliveries, tc.want) {
				t.Fatalf("History(%+v) = %v, want %v", tc.q, deliveries, tc.want)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	const days = 14
	ledger, client := newLedger(t, dynamoledger.WithRetentionDays(days))
	ctx := t.Context()
	archive := func(delivery, version string, minute int) pipeline.Record {
		return pipeline.Record{Delivery: delivery, Project: "DEMO", Repo: "api", Branch: "main", Event: "git_push",
			Outcome: pipeline.OutcomeArchived, Key: "DEMO/api/main.zip", Version: version, Time: at(minute)}
	}
	unchanged := archive("d2", "v1", 60)
	unchanged.Outcome = pipeline.OutcomeUnchanged

	for _, rec := range []pipeline.Record{archive("d1", "v1", 0), unchanged, archive("d3", "v2", 24*60)} {
		if err := ledger.Record(ctx, rec); err != nil {
			t.Fatalf("Record %s: %v", rec.Delivery, err)
		}
	}

	// S3 expires a noncurrent version at the first midnight UTC after it became noncurrent + days.
	midnightAfter := func(t time.Time) int64 {
		d := t.AddDate(0, 0, days)
		return time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, time.UTC).Unix()
	}
	want := map[string]int64{
		"d1": midnightAfter(at(24 * 60)), // superseded by d3's archive
		"d2": midnightAfter(at(60)),      // holds no archive
		"d3": 0,                          // current archive: kept
	}

	items := rawItems(t, client, "REPO#DEMO/api#main")
	if len(items) != len(want) {
		t.Fatalf("%d record items, want %d", len(items), len(want))
	}
	for _, item := range items {
		d := stringAttr(item, "delivery")
		if got := expiresAt(t, item); got != want[d] {
			t.Errorf("record %s expiresAt = %d, want %d", d, got, want[d])
		}
	}

	current := rawItems(t, client, "OBJECT#DEMO/api/main.zip")
	if len(current) != 1 || stringAttr(current[0], "version") != "v2" {
		t.Fatalf("current pointer = %v, want one item with version v2", current)
	}
}

func TestArchiveAfterSupersededRecordWasRemoved(t *testing.T) {
	ledger, client := newLedger(t)
	ctx := t.Context()
	archive := func(delivery, version string, minute int) pipeline.Record {
		return pipeline.Record{Delivery: delivery, Project: "DEMO", Repo: "api", Branch: "main", Event: "git_push",
			Outcome: pipeline.OutcomeArchived, Key: "DEMO/api/main.zip", Version: version, Time: at(minute)}
	}

	if err := ledger.Record(ctx, archive("d1", "v1", 0)); err != nil {
		t.Fatalf("Record d1: %v", err)
	}
	first := rawItems(t, client, "REPO#DEMO/api#main")[0]
	_, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table),
		Key: map[string]types.AttributeValue{"pk": first["pk"], "sk": first["sk"]}})
	if err != nil {
		t.Fatalf("DeleteItem: %v", err)
	}

	if err := ledger.Record(ctx, archive("d2", "v2", 1)); err != nil {
		t.Fatalf("Record d2 after d1's record was removed: %v", err)
	}
	items := rawItems(t, client, "REPO#DEMO/api#main")
	if len(items) != 1 || stringAttr(items[0], "delivery") != "d2" {
		t.Fatalf("records = %v, want only d2 (no stray item for the removed d1)", items)
	}
	if cur := rawItems(t, client, "OBJECT#DEMO/api/main.zip"); stringAttr(cur[0], "version") != "v2" {
		t.Fatalf("current version = %q, want v2", stringAttr(cur[0], "version"))
	}
}
