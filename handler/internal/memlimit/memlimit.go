// Package memlimit sets the Go runtime's soft memory limit from the number of
// archives a process makes at once.
//
// One archive's working set is bounded by design: the clone's object cache
// (8 MiB), the archive's read-ahead (12 MiB) and deflaters, and the upload's
// parts in flight (8 MiB each). Without a limit the garbage collector lets the
// heap grow to twice what is live before it runs, which is where most of a
// process's peak memory goes on a large repository. A soft limit of PerArchive
// for each concurrent archive keeps that headroom bounded for a few percent of
// CPU; it is soft, so a process that truly needs more still gets it.
package memlimit

import "runtime/debug"

// PerArchive is the soft memory limit allowed for each archive made at once.
const PerArchive = 96 << 20

// Apply sets the soft memory limit to PerArchive × archives, unless the
// operator set GOMEMLIMIT (passed as gomemlimit), which the runtime has already
// applied and which wins. It returns the limit in force, in bytes.
func Apply(archives int, gomemlimit string) int64 {
	if gomemlimit != "" || archives < 1 {
		return debug.SetMemoryLimit(-1)
	}
	limit := int64(archives) * PerArchive
	debug.SetMemoryLimit(limit)
	return limit
}
