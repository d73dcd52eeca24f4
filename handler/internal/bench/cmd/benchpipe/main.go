// Command benchpipe runs the archive pipeline once, in a process of its own, for
// the benchmark in package bench: clone over SSH, write the zip, stream it to S3,
// record it in a local ledger. It prints the ledger record as JSON on standard
// output; the parent reads its peak memory from the process's resource usage.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/backlog-webhook/backlog-webhook/handler/filekeys"
	"github.com/backlog-webhook/backlog-webhook/handler/internal/memlimit"
	"github.com/backlog-webhook/backlog-webhook/handler/localdb"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/s3store"
	"github.com/backlog-webhook/backlog-webhook/internal/awspeers"
)

type flags struct {
	url, project, repo, branch, delivery string
	key, knownHosts                      string
	s3, bucket, work                     string
	cpuProfile, memProfile               string
	verbose                              bool
}

func main() {
	var f flags
	flag.StringVar(&f.url, "url", "", "SSH clone URL")
	flag.StringVar(&f.project, "project", "BENCH", "project key recorded")
	flag.StringVar(&f.repo, "repo", "", "repository name recorded; it names the S3 key")
	flag.StringVar(&f.branch, "branch", "main", "branch to archive")
	flag.StringVar(&f.delivery, "delivery", "bench", "delivery id recorded")
	flag.StringVar(&f.key, "key", "", "private key file")
	flag.StringVar(&f.knownHosts, "known-hosts", "", "known_hosts file")
	flag.StringVar(&f.s3, "s3", "", "S3 endpoint URL")
	flag.StringVar(&f.bucket, "bucket", "archives", "S3 bucket")
	flag.StringVar(&f.work, "work", "", "directory for the clone and the ledger")
	flag.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile here")
	flag.StringVar(&f.memProfile, "memprofile", "", "write a heap profile here")
	flag.BoolVar(&f.verbose, "v", false, "log the pipeline's steps on standard error")
	flag.Parse()

	if err := run(context.Background(), f); err != nil {
		fmt.Fprintln(os.Stderr, "benchpipe:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, f flags) (err error) {
	// The same soft memory limit the Lambda entry sets for its one archive at a time.
	memlimit.Apply(1, os.Getenv("GOMEMLIMIT"))
	if f.cpuProfile != "" {
		out, err := os.Create(f.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(out); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	db, err := localdb.Open(filepath.Join(f.work, "ledger.db"))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.Close()) }()

	store := s3store.New(awspeers.S3Client(f.s3), f.bucket)
	keys := filekeys.New(f.key, f.knownHosts)
	var log *slog.Logger
	if f.verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	p := pipeline.New(pipeline.Config{TempDir: f.work}, store, db, keys, log)

	res, err := p.Archive(ctx, pipeline.Request{URL: f.url, Base: pipeline.Record{
		Delivery: f.delivery, Project: f.project, Repo: f.repo, Branch: f.branch, Event: "push",
	}})
	if err != nil {
		return err
	}
	if f.memProfile != "" {
		if err := writeHeap(f.memProfile); err != nil {
			return err
		}
	}
	return json.NewEncoder(os.Stdout).Encode(Output{Records: res.Records, PeakRSS: peakRSS()})
}

// Output is what benchpipe prints: the ledger records and its own peak memory.
type Output struct {
	Records []pipeline.Record `json:"records"`
	PeakRSS int64             `json:"peak_rss"` // bytes, VmHWM of this process; 0 where /proc is missing
}

// peakRSS reads this process's peak resident set (VmHWM). The parent cannot use
// its rusage: Go starts children with vfork-style clone, so the child's maxrss
// also counts the parent's pages up to the exec.
func peakRSS() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kib << 10
		}
	}
	return 0
}

func writeHeap(path string) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	return errors.Join(pprof.Lookup("allocs").WriteTo(out, 0), out.Close())
}
