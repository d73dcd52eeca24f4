package bench

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// row is the result of one repository size.
type row struct {
	name              string
	pipeline, git     time.Duration // medians
	pipeRSS           int64         // highest of the rounds
	pipeZip, gitZip   int64
	unchanged         time.Duration
	unchangedRequests string
}

// measure alternates the pipeline and the baseline rounds times on the served
// repository, then times an unchanged-tree push.
func measure(t *testing.T, e env, name string, rounds int) (row, error) {
	t.Helper()
	r := row{name: name}
	var pipes, gits []time.Duration
	var commit string
	for i := range rounds {
		for j := range 2 {
			pipeFirst := i%2 == 0
			peer, err := startS3()
			if err != nil {
				return r, err
			}
			repo := fmt.Sprintf("%s-round%d", name, i)
			var res run
			if (j == 0) == pipeFirst {
				res, err = runPipeline(t.Context(), e, peer.URL(), repo, repo)
				if err == nil {
					pipes = append(pipes, res.Wall)
					r.pipeRSS, r.pipeZip = max(r.pipeRSS, res.MaxRSS), res.Bytes
				}
			} else {
				res, err = runBaseline(t.Context(), e, peer.URL(), repo)
				if err == nil {
					gits = append(gits, res.Wall)
					r.gitZip = res.Bytes
				}
			}
			peer.Close()
			if err != nil {
				return r, err
			}
			if commit == "" {
				commit = res.Commit
			}
			if res.Commit != commit {
				return r, fmt.Errorf("%s: commits %s and %s differ", name, commit, res.Commit)
			}
			rss := "-"
			if res.MaxRSS > 0 {
				rss = fmt.Sprintf("%d MiB", res.MaxRSS>>20)
			}
			t.Logf("%s round %d: %-8s %8v  peak RSS %7s  zip %d bytes", name, i+1, kind(j == 0, pipeFirst),
				res.Wall.Round(time.Millisecond), rss, res.Bytes)
			if res.Log != "" {
				t.Log(res.Log)
			}
		}
	}
	r.pipeline, r.git = median(pipes), median(gits)

	var err error
	r.unchanged, r.unchangedRequests, err = unchangedPush(t, e, name)
	return r, err
}

func kind(first, pipeFirst bool) string {
	if first == pipeFirst {
		return "pipeline"
	}
	return "git"
}

// unchangedPush stores the tree once, then times a second push of the same tree
// and returns the S3 requests that second push made.
func unchangedPush(t *testing.T, e env, name string) (time.Duration, string, error) {
	t.Helper()
	peer, err := startS3()
	if err != nil {
		return 0, "", err
	}
	defer peer.Close()
	repo := name + "-unchanged"
	if _, err := runPipeline(t.Context(), e, peer.URL(), repo, "first"); err != nil {
		return 0, "", err
	}
	peer.Reset()
	res, err := runPipeline(t.Context(), e, peer.URL(), repo, "second")
	if err != nil {
		return 0, "", err
	}
	requests, other := peer.Requests()
	if res.Outcome != "unchanged" || other != 0 {
		return 0, "", fmt.Errorf("%s: unchanged push was %s with S3 requests %s", name, res.Outcome, requests)
	}
	t.Logf("%s unchanged push (clone only): %v  peak RSS %d MiB", name, res.Wall.Round(time.Millisecond), res.MaxRSS>>20)
	return res.Wall, requests, nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
