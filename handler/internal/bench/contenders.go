package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/s3store"
	"github.com/backlog-webhook/backlog-webhook/internal/awspeers"
)

// env is what both contenders share: the server, the credentials and a scratch directory.
type env struct {
	url        string // ssh://git@127.0.0.1:PORT/BENCH/<name>.git
	keyFile    string
	knownHosts string
	scratch    string
	child      string // the benchpipe binary
	profileDir string // when set, the pipeline writes CPU and heap profiles here
	verbose    bool   // the pipeline logs its steps into run.Log
}

// run is one measured run of one contender.
type run struct {
	Wall    time.Duration
	MaxRSS  int64 // bytes, the pipeline's own peak resident set (VmHWM); not measured for git
	Bytes   int64 // size of the zip uploaded
	Commit  string
	Outcome string
	Log     string // the pipeline's log, when env.verbose
}

// runPipeline runs the pipeline in a child process against the S3 peer at s3,
// storing under the key of repository repo, and reads its peak memory.
func runPipeline(ctx context.Context, e env, s3, repo, delivery string) (run, error) {
	work, err := os.MkdirTemp(e.scratch, "pipeline-*")
	if err != nil {
		return run{}, err
	}
	defer os.RemoveAll(work)

	args := []string{"-url", e.url, "-repo", repo, "-delivery", delivery, "-key", e.keyFile,
		"-known-hosts", e.knownHosts, "-s3", s3, "-bucket", Bucket, "-work", work}
	if e.profileDir != "" {
		args = append(args, "-cpuprofile", filepath.Join(e.profileDir, repo+".cpu.pprof"),
			"-memprofile", filepath.Join(e.profileDir, repo+".mem.pprof"))
	}
	if e.verbose {
		args = append(args, "-v")
	}
	cmd := exec.CommandContext(ctx, e.child, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return run{}, fmt.Errorf("pipeline %s: %w: %s", repo, err, strings.TrimSpace(stderr.String()))
	}

	var out struct {
		Records []pipeline.Record `json:"records"`
		PeakRSS int64             `json:"peak_rss"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || len(out.Records) != 1 {
		return run{}, fmt.Errorf("pipeline %s: records %q: %v", repo, stdout.String(), err)
	}
	recs := out.Records
	return run{Wall: wall, MaxRSS: out.PeakRSS, Bytes: recs[0].Size, Commit: recs[0].Commit,
		Outcome: string(recs[0].Outcome), Log: stderr.String()}, nil
}

// runBaseline does what a user would script with C git: a shallow single-branch
// clone over the same SSH server, git archive --format=zip of its HEAD, and the
// same streaming upload through s3store to the S3 peer at s3.
func runBaseline(ctx context.Context, e env, s3, repo string) (run, error) {
	work, err := os.MkdirTemp(e.scratch, "baseline-*")
	if err != nil {
		return run{}, err
	}
	defer os.RemoveAll(work)
	checkout := filepath.Join(work, "checkout")
	sshCmd := fmt.Sprintf("ssh -F /dev/null -i %s -o IdentitiesOnly=yes -o UserKnownHostsFile=%s "+
		"-o StrictHostKeyChecking=yes -o BatchMode=yes", e.keyFile, e.knownHosts)
	gitEnv := append(os.Environ(), "GIT_SSH_COMMAND="+sshCmd, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null", "HOME="+work)

	start := time.Now()
	clone := exec.CommandContext(ctx, "git", "clone", "-q", "--depth", "1", "--single-branch", "--branch", Branch,
		e.url, checkout)
	clone.Env = gitEnv
	if out, err := clone.CombinedOutput(); err != nil {
		return run{}, fmt.Errorf("git clone: %w: %s", err, out)
	}

	archive := exec.CommandContext(ctx, "git", "archive", "--format=zip", "HEAD")
	archive.Dir, archive.Env = checkout, gitEnv
	zip, err := archive.StdoutPipe()
	if err != nil {
		return run{}, err
	}
	var stderr bytes.Buffer
	archive.Stderr = &stderr
	if err := archive.Start(); err != nil {
		return run{}, fmt.Errorf("git archive: %w", err)
	}
	store := s3store.New(awspeers.S3Client(s3), Bucket)
	obj, putErr := store.Put(ctx, repo+".zip", zip, pipeline.Meta{Project: Project, Repo: repo, Branch: Branch})
	if putErr != nil {
		_, _ = io.Copy(io.Discard, zip)
	}
	if err := archive.Wait(); err != nil {
		return run{}, fmt.Errorf("git archive: %w: %s", err, stderr.String())
	}
	if putErr != nil {
		return run{}, putErr
	}
	wall := time.Since(start)

	head := exec.CommandContext(ctx, "git", "rev-parse", "HEAD")
	head.Dir, head.Env = checkout, gitEnv
	commit, err := head.Output()
	if err != nil {
		return run{}, fmt.Errorf("git rev-parse: %w", err)
	}
	return run{Wall: wall, Bytes: obj.Size,
		Commit: strings.TrimSpace(string(commit)), Outcome: "archived"}, nil
}
