package pipeline

import (
	"context"
	"errors"
	"io"
	"time"
)

// Sentinel errors that adapters return and callers act on.
var (
	// ErrNotFound is returned by Store.Head and Store.Open when the key or version does not exist.
	ErrNotFound = errors.New("not found")

	// ErrDuplicate is returned by Ledger.Record when a record with the same delivery and key exists.
	ErrDuplicate = errors.New("record already exists")
)

// Meta is what the store keeps beside every archive so the current tree of a key
// can be read without downloading the archive.
type Meta struct {
	Project  string // Backlog project key
	Repo     string // repository name
	Branch   string // branch the archive was made from
	Commit   string // exact commit archived
	Tree     string // tree hash archived (the subfolder's tree for subfolder archives)
	Delivery string // ID of the delivery that made this version
}

// Object describes one stored version of a key.
type Object struct {
	Key      string
	Version  string
	Size     int64
	Modified time.Time
	Meta     Meta
}

// Store keeps every version of every key, like a versioned bucket.
// Implementations are safe for concurrent use by multiple goroutines.
type Store interface {
	// Head returns the current version of key, or an error wrapping ErrNotFound.
	Head(ctx context.Context, key string) (Object, error)

	// Put reads r to its end and stores it as a new current version of key.
	// When Put returns an error no new version is visible and no partial object remains.
	Put(ctx context.Context, key string, r io.Reader, meta Meta) (Object, error)
}

// Opener is the optional ability of a Store to read a version back.
// An empty version means the current one.
type Opener interface {
	Open(ctx context.Context, key, version string) (io.ReadCloser, Object, error)
}

// Outcome is what the pipeline did with one archive target of a delivery.
type Outcome string

// Outcomes recorded in the ledger.
const (
	OutcomeArchived  Outcome = "archived"  // a new version was stored
	OutcomeUnchanged Outcome = "unchanged" // the tree equals the current version; nothing uploaded
	OutcomeDeleted   Outcome = "deleted"   // the branch was deleted; archives are kept
	OutcomeIgnored   Outcome = "ignored"   // not a push, a tag, or a branch no rule selects
	OutcomeRejected  Outcome = "rejected"  // the body is malformed or names something invalid; kept, not retried
	OutcomeFailed    Outcome = "failed"    // the attempt failed; the delivery will be retried
)

// Record is one line of the ledger: what happened to one archive target of one delivery.
// (Delivery, Key) identifies a record; Key is empty for deliveries that archive nothing.
type Record struct {
	Delivery  string        `json:"delivery"`
	Project   string        `json:"project,omitempty"`
	Repo      string        `json:"repo,omitempty"`
	Branch    string        `json:"branch,omitempty"`
	Event     string        `json:"event"`
	Outcome   Outcome       `json:"outcome"`
	Reason    string        `json:"reason,omitempty"`
	Commit    string        `json:"commit,omitempty"`
	Tree      string        `json:"tree,omitempty"`
	Key       string        `json:"key,omitempty"`
	Version   string        `json:"version,omitempty"`
	Size      int64         `json:"size,omitempty"`
	Duration  time.Duration `json:"duration,omitempty"`
	Revisions []string      `json:"revisions,omitempty"`
	User      string        `json:"user,omitempty"`
	Payload   string        `json:"payload,omitempty"`
	Time      time.Time     `json:"time"`
}

// Ledger records what the pipeline did. Implementations are safe for concurrent use.
type Ledger interface {
	// Record stores rec. A record with the same Delivery and Key that is not
	// OutcomeFailed makes Record return an error wrapping ErrDuplicate and changes nothing;
	// a failed record is replaced.
	Record(ctx context.Context, rec Record) error
}

// Query filters ledger history. Empty fields match everything.
type Query struct {
	Project string
	Repo    string
	Branch  string
	Commit  string
	Limit   int
}

// Historian is the optional ability of a Ledger to answer queries, newest first.
type Historian interface {
	History(ctx context.Context, q Query) ([]Record, error)
}

// Credentials are what an SSH clone needs. They are secret: never log or wrap them into errors.
type Credentials struct {
	PrivateKey []byte // PEM or OpenSSH private key
	KnownHosts []byte // known_hosts lines for the Git server
}

// KeySource supplies SSH credentials. Implementations may cache them.
type KeySource interface {
	Credentials(ctx context.Context) (Credentials, error)
}
