package dynamoledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

// DefaultRetentionDays is how long records that hold no current archive are kept,
// and how long a superseded archive's record outlives it being superseded. It
// matches the bucket's default noncurrent-version expiration.
const DefaultRetentionDays = 14

// maxAttempts bounds how often Record retries after losing a race with a concurrent writer.
const maxAttempts = 4

// errConflict means a concurrent writer changed an item Record had read; Record retries.
var errConflict = errors.New("concurrent ledger update")

// Compile-time checks that Ledger provides what the pipeline uses.
var (
	_ pipeline.Ledger    = (*Ledger)(nil)
	_ pipeline.Historian = (*Ledger)(nil)
)

// Ledger is a pipeline.Ledger and pipeline.Historian on one DynamoDB table laid
// out by TableInput. It is safe for concurrent use.
type Ledger struct {
	client        *dynamodb.Client
	table         string
	retentionDays int
	now           func() time.Time
	log           *slog.Logger
}

// Option changes how New builds a Ledger.
type Option func(*Ledger)

// WithRetentionDays sets how many days records without a current archive are kept;
// it should equal the bucket's noncurrent-version expiration. Values under 1 mean 1.
func WithRetentionDays(days int) Option {
	return func(l *Ledger) { l.retentionDays = max(days, 1) }
}

// WithLogger sets the logger for per-record detail (Debug level). The default discards.
func WithLogger(log *slog.Logger) Option {
	return func(l *Ledger) { l.log = log }
}

// WithClock sets the clock that stamps records recorded without a time.
func WithClock(now func() time.Time) Option {
	return func(l *Ledger) { l.now = now }
}

// New returns a Ledger on table through client.
func New(client *dynamodb.Client, table string, opts ...Option) *Ledger {
	l := &Ledger{client: client, table: table, retentionDays: DefaultRetentionDays, now: time.Now,
		log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(l)
	}

	return l
}

// Record stores rec. A record of the same delivery and key that did not fail
// makes Record return an error wrapping pipeline.ErrDuplicate; a failed one is
// replaced. An archived record becomes the current record of its key, and the
// record it supersedes gets its expiry. All of that is one transaction.
func (l *Ledger) Record(ctx context.Context, rec pipeline.Record) error {
	if rec.Time.IsZero() {
		rec.Time = l.now()
	}

	var err error
	for range maxAttempts {
		if err = l.record(ctx, rec); !errors.Is(err, errConflict) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("ledger record delivery %s key %q: %w", rec.Delivery, rec.Key, err)
	}

	return nil
}

// record makes one attempt at Record.
func (l *Ledger) record(ctx context.Context, rec pipeline.Record) error {
	item := toItem(rec)
	if rec.Outcome != pipeline.OutcomeArchived {
		item.ExpiresAt = expiry(rec.Time, l.retentionDays)
	}

	var guard guardItem
	found, err := l.get(ctx, guardPK(rec.Delivery, rec.Key), guardSK, &guard)
	if err != nil {
		return err
	}
	if found && guard.Outcome != string(pipeline.OutcomeFailed) {
		return fmt.Errorf("%w (outcome %s)", pipeline.ErrDuplicate, guard.Outcome)
	}

	tx := &transaction{}
	if err := l.addGuardAndRecord(tx, found, guard, item); err != nil {
		return err
	}
	if rec.Outcome == pipeline.OutcomeArchived && rec.Key != "" {
		if err := l.addCurrent(ctx, tx, rec, item); err != nil {
			return err
		}
	}

	return l.commit(ctx, tx)
}

// addGuardAndRecord writes the guard of (delivery, key) and the record, and drops
// the failed record the guard pointed at, if any.
func (l *Ledger) addGuardAndRecord(tx *transaction, found bool, old guardItem, item recordItem) error {
	guard := guardItem{PK: guardPK(item.Delivery, item.Key), SK: guardSK, Outcome: item.Outcome,
		RecordPK: item.PK, RecordSK: item.SK}
	if !found {
		if err := tx.put(l.table, guard, "attribute_not_exists(pk)", nil); err != nil {
			return err
		}
	} else {
		err := tx.put(l.table, guard, "outcome = :failed AND recordSk = :oldSk", map[string]types.AttributeValue{
			":failed": str(string(pipeline.OutcomeFailed)), ":oldSk": str(old.RecordSK),
		})
		if err != nil {
			return err
		}
	}

	sameItem := found && old.RecordPK == item.PK && old.RecordSK == item.SK
	cond := "attribute_not_exists(pk)"
	if sameItem {
		cond = ""
	}
	if err := tx.put(l.table, item, cond, nil); err != nil {
		return err
	}
	if found && !sameItem {
		tx.delete(l.table, old.RecordPK, old.RecordSK)
	}

	return nil
}

// addCurrent makes item the current record of its key and sets the expiry of the
// record it supersedes: S3 expires that record's version retentionDays after the
// new version is stored, so the record goes at the same time.
func (l *Ledger) addCurrent(ctx context.Context, tx *transaction, rec pipeline.Record, item recordItem) error {
	var prev currentItem
	found, err := l.get(ctx, currentPK(rec.Key), currentSK, &prev)
	if err != nil {
		return err
	}

	next := currentItem{PK: currentPK(rec.Key), SK: currentSK, Version: rec.Version, RecordPK: item.PK,
		RecordSK: item.SK}
	if !found {
		return tx.put(l.table, next, "attribute_not_exists(pk)", nil)
	}
	err = tx.put(l.table, next, "recordPk = :pk AND recordSk = :sk", map[string]types.AttributeValue{
		":pk": str(prev.RecordPK), ":sk": str(prev.RecordSK),
	})
	if err != nil {
		return err
	}
	if prev.RecordPK != item.PK || prev.RecordSK != item.SK {
		tx.expire(l.table, prev.RecordPK, prev.RecordSK, expiry(rec.Time, l.retentionDays))
	}

	return nil
}

// get reads one item with a consistent read into out and reports whether it exists.
func (l *Ledger) get(ctx context.Context, pk, sk string, out any) (bool, error) {
	res, err := l.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(l.table),
		Key:            map[string]types.AttributeValue{AttrPK: str(pk), AttrSK: str(sk)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, fmt.Errorf("get %s: %w", pk, err)
	}
	if len(res.Item) == 0 {
		return false, nil
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return false, fmt.Errorf("decode %s: %w", pk, err)
	}

	return true, nil
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
