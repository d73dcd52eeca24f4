// Package localdb keeps the local server's state in one embedded database file
// (bbolt): the ledger of what the pipeline did, and a durable queue of received
// webhooks with its dead-letter list.
//
// Every write is one transaction committed with fsync before the call returns, so
// a webhook that Enqueue acknowledged survives a crash of the process.
//
// Buckets in the file:
//
//	records      delivery NUL key -> ledger record (JSON)
//	idx_time     time seq -> record id, for newest-first history
//	idx_project  project NUL time seq -> record id
//	idx_repo     project NUL repo NUL time seq -> record id
//	idx_branch   project NUL repo NUL branch NUL time seq -> record id
//	idx_commit   commit NUL time seq -> record id
//	queue        seq -> queued message (JSON)
//	queue_ids    delivery id -> seq of the queued message, for de-duplication
//	dead         seq -> dead-lettered message (JSON)
//
// Times and sequence numbers are 8-byte big-endian, so byte order is time order.
package localdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Errors returned for arguments the database refuses.
var (
	// ErrInvalid is returned for records and messages missing an identity or holding NUL
	// bytes in an indexed field.
	ErrInvalid = errors.New("invalid argument")

	// ErrInUse is returned by Open when another process holds the file, such as a running server.
	ErrInUse = errors.New("in use by another process (a running 'handler serve'?); stop it first")
)

// Bucket names.
var (
	bRecords   = []byte("records")
	bByTime    = []byte("idx_time")
	bByProject = []byte("idx_project")
	bByRepo    = []byte("idx_repo")
	bByBranch  = []byte("idx_branch")
	bByCommit  = []byte("idx_commit")
	bQueue     = []byte("queue")
	bQueueIDs  = []byte("queue_ids")
	bDead      = []byte("dead")

	allBuckets = [][]byte{bRecords, bByTime, bByProject, bByRepo, bByBranch, bByCommit, bQueue, bQueueIDs, bDead}
)

// lockTimeout bounds the wait for the file lock another process may hold.
const lockTimeout = 2 * time.Second

// DB is the ledger and the queue in one bbolt file. It is safe for concurrent use.
type DB struct {
	bolt *bolt.DB
}

// Open opens the database file at path, creating it and its directory if needed.
// It fails after a short wait when another process has the file open.
func Open(path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("localdb: open %s: %w", path, err)
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("localdb: open %s: %w", path, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("localdb: open %s: %w", path, err)
	}

	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("localdb: open %s: %w", path, err)
	}
	return &DB{bolt: b}, nil
}

// Close closes the file; it waits for transactions in flight.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("localdb: close: %w", err)
	}
	return nil
}
