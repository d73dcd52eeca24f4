package dynamoledger

import (
	"fmt"
	"strings"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

// Key prefixes and fixed sort keys of the three kinds of item.
const (
	repoPrefix     = "REPO#"     // record items: REPO#<project>/<repo>#<branch>
	deliveryPrefix = "DELIVERY#" // guard items: DELIVERY#<delivery>#<key>
	objectPrefix   = "OBJECT#"   // current-archive pointers: OBJECT#<key>
	guardSK        = "GUARD"
	currentSK      = "CURRENT"

	// timeLayout sorts as text in time order: fixed width, always UTC.
	timeLayout = "2006-01-02T15:04:05.000000000Z"

	// maxPayload bounds the stored payload so an item stays under DynamoDB's 400 KB.
	maxPayload = 256 << 10
)

// recordItem is how a pipeline.Record is stored.
type recordItem struct {
	PK        string   `dynamodbav:"pk"`
	SK        string   `dynamodbav:"sk"`
	Scope     string   `dynamodbav:"scope"`
	RepoKey   string   `dynamodbav:"repoKey,omitempty"`
	Delivery  string   `dynamodbav:"delivery"`
	Project   string   `dynamodbav:"project,omitempty"`
	Repo      string   `dynamodbav:"repo,omitempty"`
	Branch    string   `dynamodbav:"branch,omitempty"`
	Event     string   `dynamodbav:"event"`
	Outcome   string   `dynamodbav:"outcome"`
	Reason    string   `dynamodbav:"reason,omitempty"`
	Commit    string   `dynamodbav:"commit,omitempty"`
	Tree      string   `dynamodbav:"tree,omitempty"`
	Key       string   `dynamodbav:"key,omitempty"`
	Version   string   `dynamodbav:"version,omitempty"`
	Size      int64    `dynamodbav:"size,omitempty"`
	Duration  string   `dynamodbav:"duration,omitempty"`
	Revisions []string `dynamodbav:"revisions,omitempty"`
	User      string   `dynamodbav:"user,omitempty"`
	Payload   string   `dynamodbav:"payload,omitempty"`
	Truncated bool     `dynamodbav:"payloadTruncated,omitempty"`
	Time      string   `dynamodbav:"time"`
	ExpiresAt int64    `dynamodbav:"expiresAt,omitempty"`
}

// guardItem makes (delivery, key) unique and points at its record item.
type guardItem struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	Outcome  string `dynamodbav:"outcome"`
	RecordPK string `dynamodbav:"recordPk"`
	RecordSK string `dynamodbav:"recordSk"`
}

// currentItem points at the record of the archive that is the current version of a key.
type currentItem struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	Version  string `dynamodbav:"version"`
	RecordPK string `dynamodbav:"recordPk"`
	RecordSK string `dynamodbav:"recordSk"`
}

// repoPK is the partition of one branch's records.
func repoPK(project, repo, branch string) string {
	return repoPrefix + project + "/" + repo + "#" + branch
}

// guardPK is the partition of the guard item of (delivery, key).
func guardPK(delivery, key string) string { return deliveryPrefix + delivery + "#" + key }

// currentPK is the partition of the current-archive pointer of key.
func currentPK(key string) string { return objectPrefix + key }

// toItem converts rec for storage; rec.Time must be set.
func toItem(rec pipeline.Record) recordItem {
	at := rec.Time.UTC().Format(timeLayout)
	it := recordItem{
		PK:        repoPK(rec.Project, rec.Repo, rec.Branch),
		SK:        at + "#" + rec.Delivery + "#" + rec.Key,
		Scope:     ScopeAll,
		Delivery:  rec.Delivery,
		Project:   rec.Project,
		Repo:      rec.Repo,
		Branch:    rec.Branch,
		Event:     rec.Event,
		Outcome:   string(rec.Outcome),
		Reason:    rec.Reason,
		Commit:    rec.Commit,
		Tree:      rec.Tree,
		Key:       rec.Key,
		Version:   rec.Version,
		Size:      rec.Size,
		Revisions: rec.Revisions,
		User:      rec.User,
		Payload:   rec.Payload,
		Time:      rec.Time.UTC().Format(time.RFC3339Nano),
	}
	if rec.Project != "" || rec.Repo != "" {
		it.RepoKey = rec.Project + "/" + rec.Repo
	}
	if rec.Duration != 0 {
		it.Duration = rec.Duration.String()
	}
	if len(it.Payload) > maxPayload {
		it.Payload, it.Truncated = strings.ToValidUTF8(it.Payload[:maxPayload], ""), true
	}

	return it
}

// fromItem converts a stored record item back.
func fromItem(it recordItem) (pipeline.Record, error) {
	at, err := time.Parse(time.RFC3339Nano, it.Time)
	if err != nil {
		return pipeline.Record{}, fmt.Errorf("record %s %s: time: %w", it.PK, it.SK, err)
	}
	var d time.Duration
	if it.Duration != "" {
		if d, err = time.ParseDuration(it.Duration); err != nil {
			return pipeline.Record{}, fmt.Errorf("record %s %s: duration: %w", it.PK, it.SK, err)
		}
	}

	return pipeline.Record{
		Delivery: it.Delivery, Project: it.Project, Repo: it.Repo, Branch: it.Branch,
		Event: it.Event, Outcome: pipeline.Outcome(it.Outcome), Reason: it.Reason,
		Commit: it.Commit, Tree: it.Tree, Key: it.Key, Version: it.Version, Size: it.Size,
		Duration: d, Revisions: it.Revisions, User: it.User, Payload: it.Payload, Time: at,
	}, nil
}

// expiry returns the epoch second at which an item made at t may go: t plus days,
// rounded up to the next midnight UTC as S3 rounds lifecycle expirations.
func expiry(t time.Time, days int) int64 {
	end := t.UTC().AddDate(0, 0, days)
	midnight := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, time.UTC)
	if midnight.Before(end) {
		midnight = midnight.AddDate(0, 0, 1)
	}

	return midnight.Unix()
}
