package localdb

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

// maxLastError bounds the cause kept with a failed message.
const maxLastError = 300

// Message is one received webhook waiting in the local queue or in the dead-letter list.
type Message struct {
	Seq       uint64           `json:"seq"`       // position in the queue; a redriven message gets a new one
	Group     string           `json:"group"`     // ordering group, "PROJECT/repo"
	Delivery  webhook.Delivery `json:"delivery"`  // the webhook byte for byte
	Attempts  int              `json:"attempts"`  // failed processing attempts so far
	LastError string           `json:"lastError"` // short cause of the last failure
}

// Enqueue appends d to the queue under group and returns once the message is on disk.
// When a message with the same delivery id is still queued, Enqueue adds nothing and
// returns that message with dup set, like content-based de-duplication in SQS FIFO.
func (db *DB) Enqueue(group string, d webhook.Delivery) (msg Message, dup bool, err error) {
	if d.ID == "" {
		return Message{}, false, fmt.Errorf("localdb: enqueue: %w: empty delivery id", ErrInvalid)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		q, ids := tx.Bucket(bQueue), tx.Bucket(bQueueIDs)
		if seq := ids.Get([]byte(d.ID)); seq != nil {
			dup = true
			return getMessage(q, seq, &msg)
		}
		msg = Message{Group: group, Delivery: d}
		return appendMessage(tx, &msg)
	})
	if err != nil {
		return Message{}, false, fmt.Errorf("localdb: enqueue %s: %w", d.ID, err)
	}
	return msg, dup, nil
}

// Pending returns every queued message in queue order.
func (db *DB) Pending() ([]Message, error) {
	msgs, err := db.list(bQueue)
	if err != nil {
		return nil, fmt.Errorf("localdb: pending: %w", err)
	}
	return msgs, nil
}

// Dead returns every dead-lettered message in the order they were first queued.
func (db *DB) Dead() ([]Message, error) {
	msgs, err := db.list(bDead)
	if err != nil {
		return nil, fmt.Errorf("localdb: dead: %w", err)
	}
	return msgs, nil
}

// Ack removes a processed message from the queue.
func (db *DB) Ack(seq uint64) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		var m Message
		if err := getMessage(tx.Bucket(bQueue), key(seq), &m); err != nil {
			return err
		}
		return removeQueued(tx, m)
	})
	if err != nil {
		return fmt.Errorf("localdb: ack %d: %w", seq, err)
	}
	return nil
}

// Fail counts a failed attempt at a queued message and keeps a short form of cause.
// When the message has failed maxAttempts times it moves to the dead-letter list and
// Fail returns dead set. The cause must not hold secrets.
func (db *DB) Fail(seq uint64, cause error, maxAttempts int) (dead bool, err error) {
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		var m Message
		if err := getMessage(tx.Bucket(bQueue), key(seq), &m); err != nil {
			return err
		}
		m.Attempts++
		m.LastError = shortError(cause)
		if m.Attempts < maxAttempts {
			return putMessage(tx.Bucket(bQueue), m)
		}
		dead = true
		if err := removeQueued(tx, m); err != nil {
			return err
		}
		return putMessage(tx.Bucket(bDead), m)
	})
	if err != nil {
		return false, fmt.Errorf("localdb: fail %d: %w", seq, err)
	}
	return dead, nil
}

// Redrive moves a dead-lettered message back to the tail of the queue with a new
// sequence number and no attempts counted. When the same delivery is queued again
// already, the dead copy is dropped instead, since the queued one does the same work.
func (db *DB) Redrive(seq uint64) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		dead := tx.Bucket(bDead)
		var m Message
		if err := getMessage(dead, key(seq), &m); err != nil {
			return err
		}
		if err := dead.Delete(key(seq)); err != nil {
			return err
		}
		if tx.Bucket(bQueueIDs).Get([]byte(m.Delivery.ID)) != nil {
			return nil
		}
		m.Attempts = 0
		return appendMessage(tx, &m)
	})
	if err != nil {
		return fmt.Errorf("localdb: redrive %d: %w", seq, err)
	}
	return nil
}

// appendMessage gives m the next sequence number and queues it.
func appendMessage(tx *bolt.Tx, m *Message) error {
	q := tx.Bucket(bQueue)
	seq, err := q.NextSequence()
	if err != nil {
		return err
	}
	m.Seq = seq
	if err := putMessage(q, *m); err != nil {
		return err
	}
	return tx.Bucket(bQueueIDs).Put([]byte(m.Delivery.ID), key(seq))
}

// removeQueued deletes queued message m and its de-duplication entry.
func removeQueued(tx *bolt.Tx, m Message) error {
	if err := tx.Bucket(bQueue).Delete(key(m.Seq)); err != nil {
		return err
	}
	return tx.Bucket(bQueueIDs).Delete([]byte(m.Delivery.ID))
}

func putMessage(b *bolt.Bucket, m Message) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return b.Put(key(m.Seq), raw)
}

// getMessage decodes the message stored under k into m, or returns pipeline.ErrNotFound.
func getMessage(b *bolt.Bucket, k []byte, m *Message) error {
	raw := b.Get(k)
	if raw == nil {
		return pipeline.ErrNotFound
	}
	if err := json.Unmarshal(raw, m); err != nil {
		return fmt.Errorf("decode message: %w", err)
	}
	return nil
}

func (db *DB) list(bucket []byte) ([]Message, error) {
	var msgs []Message
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, raw []byte) error {
			var m Message
			if err := json.Unmarshal(raw, &m); err != nil {
				return fmt.Errorf("decode message %d: %w", binary.BigEndian.Uint64(k), err)
			}
			msgs = append(msgs, m)
			return nil
		})
	})
	return msgs, err
}

// key encodes a sequence number so that byte order is numeric order.
func key(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

// shortError is cause on one line, valid UTF-8, cut after maxLastError bytes.
func shortError(cause error) string {
	if cause == nil {
		return ""
	}
	s := strings.ToValidUTF8(cause.Error(), "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) <= maxLastError {
		return s
	}
	cut := maxLastError
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
