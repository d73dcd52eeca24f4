// Package pipeline is the core of backlog-webhook: it takes one webhook delivery,
// decides what to archive, clones the repository, streams zip archives of the
// selected trees into a Store and records every decision in a Ledger.
//
// The pipeline knows nothing of AWS or of the local data directory: both sets of
// adapters implement the small interfaces declared in this package.
package pipeline
