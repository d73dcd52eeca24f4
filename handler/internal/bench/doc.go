// Package bench measures the archive pipeline against the script a user would
// write with C git, on repositories it generates deterministically.
//
// Both contenders clone from the same loopback SSH Git server and upload to the
// same in-process S3 peer. The pipeline runs in a child process of its own
// (cmd/benchpipe) so that its peak resident memory is its own; the S3 peer stays
// in the parent. Generated repositories are cached under the user cache
// directory, so only the first run pays for them.
//
// The benchmark runs only when BENCH_TABLE=1 is set (make bench sets it), so
// make test never pays for it.
package bench
