// Package dynamoledger keeps the pipeline's ledger in one DynamoDB table. Ledger
// implements pipeline.Ledger and pipeline.Historian.
//
// # Layout
//
// The table (see TableInput and the constants in schema.go) has string keys pk
// and sk and holds three kinds of item:
//
//	record   pk = REPO#<project>/<repo>#<branch>
//	         sk = <time, UTC, fixed-width RFC 3339 with nanoseconds>#<delivery>#<key>
//	         every field of pipeline.Record (the raw payload and the user included),
//	         scope = ALL, repoKey = <project>/<repo>, expiresAt when it may go
//	guard    pk = DELIVERY#<delivery>#<key>, sk = GUARD
//	         outcome and the pk/sk of the record it admitted
//	current  pk = OBJECT#<key>, sk = CURRENT
//	         version and pk/sk of the record of the key's current archive
//
// Because sk starts with the time, a Query on one partition read backwards is the
// history newest first. Four global secondary indexes, each sorted by sk, answer
// the other questions by Query, never Scan: "commit" (which archive holds commit
// X; sparse, records with a commit only), "repo" (all branches of a repository),
// "project", and "all" (every record; a single partition, which is fine for the
// write rate of webhooks).
//
// # Idempotency
//
// Record writes the guard and the record in one TransactWriteItems. The guard is
// written only if it does not exist or its outcome is failed, so a redelivered
// message cannot add a second record for the same delivery and key: Record
// returns an error wrapping pipeline.ErrDuplicate instead. A failed record is
// replaced, its old item deleted in the same transaction.
//
// # Expiry
//
// expiresAt (epoch seconds) is the table's TTL attribute. A record that holds no
// archive (unchanged, ignored, deleted, failed) gets expiresAt = its time plus the
// retention days. An archived record gets none when written: it describes the
// current version of its key, which S3 keeps forever. When a later archive of the
// same key is recorded, the current pointer moves to it and the superseded record
// gets expiresAt = the new record's time plus the retention days, rounded up to
// midnight UTC, which is when S3's noncurrent-version expiration removes the
// version it describes. The retention should equal the bucket's noncurrent
// expiration days (WithRetentionDays).
//
// Payloads longer than 256 KiB are cut (payloadTruncated = true) to keep items
// under DynamoDB's 400 KB limit.
package dynamoledger
