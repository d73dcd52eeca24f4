package localdb

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

var (
	_ pipeline.Ledger    = (*DB)(nil)
	_ pipeline.Historian = (*DB)(nil)
)

// stored is a ledger record with the sequence number that orders records of equal time.
type stored struct {
	Seq    uint64          `json:"seq"`
	Record pipeline.Record `json:"record"`
}

// Record stores rec. An existing record with the same Delivery and Key that is not
// failed makes Record return an error wrapping pipeline.ErrDuplicate; a failed one is
// replaced. A zero rec.Time is set to the time of recording.
func (db *DB) Record(ctx context.Context, rec pipeline.Record) error {
	if err := db.record(ctx, rec); err != nil {
		return fmt.Errorf("localdb: record %s/%s: %w", rec.Delivery, rec.Key, err)
	}
	return nil
}

func (db *DB) record(ctx context.Context, rec pipeline.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if rec.Delivery == "" {
		return fmt.Errorf("%w: empty delivery", ErrInvalid)
	}
	for _, f := range []string{rec.Delivery, rec.Key, rec.Project, rec.Repo, rec.Branch, rec.Commit} {
		if strings.IndexByte(f, 0) >= 0 {
			return fmt.Errorf("%w: NUL in an indexed field", ErrInvalid)
		}
	}
	if rec.Time.IsZero() {
		rec.Time = time.Now()
	}

	id := []byte(rec.Delivery + "\x00" + rec.Key)
	return db.bolt.Update(func(tx *bolt.Tx) error {
		records := tx.Bucket(bRecords)
		if old := records.Get(id); old != nil {
			var prev stored
			if err := json.Unmarshal(old, &prev); err != nil {
				return fmt.Errorf("decode existing record: %w", err)
			}
			if prev.Record.Outcome != pipeline.OutcomeFailed {
				return fmt.Errorf("%w (outcome %s)", pipeline.ErrDuplicate, prev.Record.Outcome)
			}
			if err := putIndexes(tx, prev, nil); err != nil {
				return err
			}
		}

		seq, err := records.NextSequence()
		if err != nil {
			return err
		}
		s := stored{Seq: seq, Record: rec}
		b, err := json.Marshal(s)
		if err != nil {
			return err
		}
		if err := records.Put(id, b); err != nil {
			return err
		}
		return putIndexes(tx, s, id)
	})
}

// putIndexes writes the index entries of s pointing at id, or deletes them when id is nil.
func putIndexes(tx *bolt.Tx, s stored, id []byte) error {
	for bucket, prefix := range indexPrefixes(s.Record) {
		b := tx.Bucket([]byte(bucket))
		k := append([]byte(prefix), order(s.Record.Time, s.Seq)...)
		var err error
		if id == nil {
			err = b.Delete(k)
		} else {
			err = b.Put(k, id)
		}
		if err != nil {
			return fmt.Errorf("index %s: %w", bucket, err)
		}
	}
	return nil
}

// indexPrefixes maps each index bucket that covers r to r's prefix in it.
func indexPrefixes(r pipeline.Record) map[string]string {
	m := map[string]string{string(bByTime): ""}
	if r.Project != "" {
		m[string(bByProject)] = r.Project + "\x00"
		if r.Repo != "" {
			m[string(bByRepo)] = r.Project + "\x00" + r.Repo + "\x00"
			if r.Branch != "" {
				m[string(bByBranch)] = r.Project + "\x00" + r.Repo + "\x00" + r.Branch + "\x00"
			}
		}
	}
	if r.Commit != "" {
		m[string(bByCommit)] = r.Commit + "\x00"
	}
	return m
}

// order is the 16-byte suffix that sorts index entries by time, then by sequence.
func order(t time.Time, seq uint64) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(max(t.UnixNano(), 0)))
	binary.BigEndian.PutUint64(b[8:], seq)
	return b
}

// History returns the records matching q, newest first, at most q.Limit when it is positive.
// It walks the most specific index the query allows and filters the rest.
func (db *DB) History(ctx context.Context, q pipeline.Query) ([]pipeline.Record, error) {
	bucket, prefix := pickIndex(q)
	var out []pipeline.Record
	err := db.bolt.View(func(tx *bolt.Tx) error {
		records := tx.Bucket(bRecords)
		c := tx.Bucket(bucket).Cursor()
		for k, id := last(c, prefix); k != nil && bytes.HasPrefix(k, prefix); k, id = c.Prev() {
			if err := ctx.Err(); err != nil {
				return err
			}
			raw := records.Get(id)
			if raw == nil {
				return fmt.Errorf("index %s names missing record %q", bucket, id)
			}
			var s stored
			if err := json.Unmarshal(raw, &s); err != nil {
				return fmt.Errorf("decode record %q: %w", id, err)
			}
			if !matches(q, s.Record) {
				continue
			}
			out = append(out, s.Record)
			if q.Limit > 0 && len(out) == q.Limit {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("localdb: history %+v: %w", q, err)
	}
	return out, nil
}

// pickIndex chooses the index bucket and key prefix that narrow q the most.
func pickIndex(q pipeline.Query) ([]byte, []byte) {
	switch {
	case q.Commit != "":
		return bByCommit, []byte(q.Commit + "\x00")
	case q.Project != "" && q.Repo != "" && q.Branch != "":
		return bByBranch, []byte(q.Project + "\x00" + q.Repo + "\x00" + q.Branch + "\x00")
	case q.Project != "" && q.Repo != "":
		return bByRepo, []byte(q.Project + "\x00" + q.Repo + "\x00")
	case q.Project != "":
		return bByProject, []byte(q.Project + "\x00")
	default:
		return bByTime, nil
	}
}

func matches(q pipeline.Query, r pipeline.Record) bool {
	return (q.Project == "" || q.Project == r.Project) &&
		(q.Repo == "" || q.Repo == r.Repo) &&
		(q.Branch == "" || q.Branch == r.Branch) &&
		(q.Commit == "" || q.Commit == r.Commit)
}

// last positions c on the greatest key that starts with prefix, or past it when none does
// (the caller's prefix check then ends the walk).
func last(c *bolt.Cursor, prefix []byte) ([]byte, []byte) {
	end := prefixEnd(prefix)
	if end == nil {
		return c.Last()
	}
	if k, _ := c.Seek(end); k == nil {
		return c.Last()
	}
	return c.Prev()
}

// prefixEnd is the smallest key greater than every key with the prefix, nil if there is none.
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
