package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
	"github.com/backlog-webhook/backlog-webhook/handler/internal/faults"
	"github.com/backlog-webhook/backlog-webhook/handler/layout"
	"github.com/backlog-webhook/backlog-webhook/handler/localdb"
	"github.com/backlog-webhook/backlog-webhook/handler/localstore"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

// finished matches the pipeline's log line for a delivery whose archive target is done.
var finished = regexp.MustCompile(
	`msg="?(?:archived|archive unchanged|archive skipped[^"]*)"? .*delivery=([0-9a-f]{12})`)

// resuming matches the worker's log line that counts the webhooks it takes up again at start.
var resuming = regexp.MustCompile(`msg="resuming queued webhooks" count=(\d+)`)

// buildHandler builds the program with the go command that runs the tests (go test puts it on PATH).
func buildHandler(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "handler")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/backlog-webhook/backlog-webhook/handler")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build handler: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// serveProcess is one run of `handler serve` whose output goes to a file.
type serveProcess struct {
	cmd *exec.Cmd
	log string
}

func startServe(t *testing.T, bin, addr string, args ...string) *serveProcess {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "serve.log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = out.Close() })
	cmd := exec.Command(bin, append([]string{"serve", "--listen", addr}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProcess{cmd: cmd, log: logPath}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		resp, err := client.Get("http://" + addr + "/")
		if err == nil {
			_ = resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("handler serve never answered on %s:\n%s", addr, p.output(t))
		}
	}
}

func (p *serveProcess) output(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(p.log)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// finishedIDs returns the short delivery ids the process logged as done.
func (p *serveProcess) finishedIDs(t *testing.T) map[string]bool {
	t.Helper()
	done := map[string]bool{}
	for _, m := range finished.FindAllStringSubmatch(p.output(t), -1) {
		done[m[1]] = true
	}
	return done
}

func TestServerKilledMidWorkLosesAndDuplicatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the program")
	}
	bin := buildHandler(t)
	f := newFlow(t, nil)
	proxy, err := faults.StartTCP(f.Git.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	proxy.Throttle(1 << 20) // slow clones, so the kill lands with work in flight
	hosts := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, hosts, []byte(knownhosts.Line([]string{knownhosts.Normalize(proxy.Addr())}, f.Git.HostKey())+"\n"))

	const repos, pushes = 6, 4
	var bodies [][]byte
	for r := range repos {
		repo := fmt.Sprintf("svc%d", r)
		for i := range pushes {
			c, err := gitserver.BuildRepo(context.Background(), gitserver.RepoDir(f.Root, "DEMO", repo), "main",
				[]gitserver.File{{Path: "README.md", Data: fmt.Appendf(nil, "%s %d\n", repo, i)},
					{Path: "blob.bin", Data: bytes.Repeat(fmt.Appendf(nil, "%d%s", i, repo), 40_000)}})
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, pushBody("DEMO", repo, c))
		}
	}

	const token = "crash-test-token-5d2e"
	data := t.TempDir()
	args := []string{"--data", data, "--git-server", "git@" + proxy.Addr(), "--ssh-key", f.KeyFile,
		"--known-hosts", hosts, "--token", token, "--workers", "2"}
	addr := freeAddr(t)
	url := "http://" + addr + "/backlog-webhook/" + token

	first := startServe(t, bin, addr, args...)
	acked := map[string]string{} // short id → full id
	for _, b := range bodies {
		id := accept(t, url, b)
		acked[id[:12]] = id
	}
	for deadline := time.Now().Add(2 * time.Minute); len(first.finishedIDs(t)) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("nothing finished before the kill:\n%s", first.output(t))
		}
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	before := first.finishedIDs(t)
	if len(before) == len(acked) {
		t.Fatal("every webhook finished before the kill: the test exercised no crash")
	}

	proxy.Heal()
	runs := []*serveProcess{first}
	for round := 1; ; round++ {
		run := startServe(t, bin, addr, args...)
		runs = append(runs, run)
		if round == 1 {
			waitResumed(t, run, acked, before)
		} else {
			waitResumed(t, run, nil, nil)
		}
		if err := run.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := run.cmd.Wait(); err != nil {
			t.Fatalf("serve after SIGTERM: %v\n%s", err, run.output(t))
		}
		// SIGTERM may cut off the last delivery between its log line and its removal from the
		// queue; it stays queued, so start again until nothing is left.
		if pendingIn(t, data) == 0 {
			break
		}
		if round == 3 {
			t.Fatalf("still queued after %d restarts", round)
		}
	}
	for _, p := range runs {
		if strings.Contains(p.output(t), token) {
			t.Fatal("the server logged its webhook token")
		}
	}
	t.Logf("%d webhooks acknowledged, %d finished before SIGKILL, the rest after the restart", len(acked),
		len(before))

	checkDataDir(t, data, acked, repos)
}

// waitResumed waits until run has finished every webhook it resumed and, with acked,
// every acknowledged webhook not finished before (short ids).
func waitResumed(t *testing.T, run *serveProcess, acked map[string]string, before map[string]bool) {
	t.Helper()
	resumed := -1
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if m := resuming.FindStringSubmatch(run.output(t)); m != nil {
			resumed, _ = strconv.Atoi(m[1])
		}
		done := run.finishedIDs(t)
		missing := 0
		for short := range acked {
			if !done[short] && !before[short] {
				missing++
			}
		}
		if missing == 0 && resumed >= 0 && len(done) >= resumed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d acknowledged webhooks never finished after the restart (%d resumed):\n%s", missing,
				resumed, run.output(t))
		}
	}
}

// pendingIn counts the webhooks still queued in a stopped server's data directory.
func pendingIn(t *testing.T, data string) int {
	t.Helper()
	db, err := localdb.Open(filepath.Join(data, "backlog-webhook.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := db.Pending()
	if err != nil {
		t.Fatal(err)
	}
	return len(p)
}

// checkDataDir opens what the killed and restarted server left and checks that every
// acknowledged webhook has exactly one ledger record, nothing is queued or dead, and no
// key holds two versions of one tree or a version no record points at.
func checkDataDir(t *testing.T, data string, acked map[string]string, repos int) {
	t.Helper()
	db, err := localdb.Open(filepath.Join(data, "backlog-webhook.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store, err := localstore.Open(filepath.Join(data, "archives"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	pending, err := db.Pending()
	if err != nil || len(pending) != 0 {
		t.Fatalf("%d messages still queued (err %v)", len(pending), err)
	}
	dead, err := db.Dead()
	if err != nil || len(dead) != 0 {
		t.Fatalf("%d dead letters (err %v): %+v", len(dead), err, dead)
	}
	hist, err := db.History(t.Context(), pipeline.Query{Project: "DEMO"})
	if err != nil {
		t.Fatal(err)
	}
	perDelivery, archived := map[string]int{}, map[string]int{}
	for _, r := range hist {
		perDelivery[r.Delivery]++
		if r.Outcome == pipeline.OutcomeArchived {
			archived[r.Version]++
		} else if r.Outcome != pipeline.OutcomeUnchanged {
			t.Errorf("delivery %.12s recorded %s: %s", r.Delivery, r.Outcome, r.Reason)
		}
	}
	for _, id := range acked {
		if perDelivery[id] != 1 {
			t.Errorf("acknowledged delivery %.12s has %d ledger records, want 1", id, perDelivery[id])
		}
	}
	if len(perDelivery) != len(acked) {
		t.Errorf("the ledger holds %d deliveries, %d were acknowledged", len(perDelivery), len(acked))
	}
	for r := range repos {
		key := layout.Key("DEMO", fmt.Sprintf("svc%d", r), "main")
		versions, err := store.Versions(t.Context(), key)
		if err != nil || len(versions) == 0 {
			t.Fatalf("%s: %d versions (err %v)", key, len(versions), err)
		}
		trees := map[string]bool{}
		for _, v := range versions {
			rc, obj, err := store.Open(t.Context(), key, v.Version)
			if err != nil {
				t.Fatal(err)
			}
			_ = rc.Close()
			if trees[obj.Meta.Tree] {
				t.Errorf("%s stores tree %s twice", key, obj.Meta.Tree)
			}
			trees[obj.Meta.Tree] = true
			if archived[v.Version] != 1 {
				t.Errorf("%s version %s has %d archived records, want 1", key, v.Version, archived[v.Version])
			}
		}
	}
}
