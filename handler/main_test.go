package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), err
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			out, err := runCmd(t, c.name, "--help")
			if !errors.Is(err, flag.ErrHelp) || !strings.Contains(out, "Usage: handler "+c.name) {
				t.Fatalf("--help: err %v, output %q", err, out)
			}
		})
	}
	if _, err := runCmd(t, "nonsense"); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("unknown command: %v", err)
	}
}

func TestDemoThenListAndGet(t *testing.T) {
	data := t.TempDir()
	out, err := runCmd(t, "demo", "--data", data)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	path := lines[len(lines)-1]
	if filepath.Dir(path) != filepath.Join(data, "demo") {
		t.Fatalf("the last line %q is not the archive's path", path)
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("demo archive: %v", err)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	_ = zr.Close()
	if !names["README.md"] || !names["scripts/build.sh"] {
		t.Fatalf("demo archive holds %v", names)
	}

	out, err = runCmd(t, "list", "--data", data, "--json", "--repo", "DEMO/sample")
	if err != nil {
		t.Fatal(err)
	}
	var rec pipeline.Record
	if err := json.Unmarshal([]byte(strings.Split(out, "\n")[0]), &rec); err != nil {
		t.Fatalf("list --json: %v: %q", err, out)
	}
	if rec.Outcome != pipeline.OutcomeArchived || rec.Key != "DEMO/sample/main.zip" || len(rec.Commit) != 40 {
		t.Fatalf("newest record %+v", rec)
	}

	got := filepath.Join(t.TempDir(), "got.zip")
	if _, err := runCmd(t, "get", "--data", data, "--repo", "DEMO/sample", "--branch", "main",
		"--commit", rec.Commit, "--out", got); err != nil {
		t.Fatalf("get --commit: %v", err)
	}
	if _, err := runCmd(t, "get", "--data", data, "--repo", "DEMO/sample", "--branch", "main",
		"--commit", strings.Repeat("0", 40), "--out", got); err == nil {
		t.Fatal("get of a commit never archived succeeded")
	}
}

func TestArchiveCommand(t *testing.T) {
	data := t.TempDir()
	d, err := startDemo(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	url := "ssh://" + d.git.ServerURL("git") + "/DEMO/sample.git"
	keys := []string{"--ssh-key", d.keyFile, "--known-hosts", d.knownHosts, "--data", data}

	out := filepath.Join(t.TempDir(), "sample.zip")
	if _, err := runCmd(t, append([]string{"archive", "--repo", url, "--ref", "refs/heads/main", "--out", out},
		keys...)...); err != nil {
		t.Fatalf("archive --out: %v", err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	_ = zr.Close()

	if _, err := runCmd(t, append([]string{"archive", "--repo", "DEMO/sample", "--ref", "main",
		"--git-server", d.git.ServerURL("git")}, keys...)...); err != nil {
		t.Fatalf("archive to the store: %v", err)
	}
	list, err := runCmd(t, "list", "--data", data, "--json")
	if err != nil || !strings.Contains(list, `"event":"manual"`) || !strings.Contains(list, `"outcome":"archived"`) {
		t.Fatalf("list after archive: %v %s", err, list)
	}

	if _, err := runCmd(t, append([]string{"archive", "--repo", url, "--ref", "no..such"}, keys...)...); err == nil {
		t.Fatal("an invalid branch name was accepted")
	}
}

func TestReadCommandsWorkWhileTheServerRuns(t *testing.T) {
	data := t.TempDir()
	if _, err := runCmd(t, "demo", "--data", data); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- run(ctx, []string{"serve", "--data", data, "--listen", "127.0.0.1:0"}, io.Discard, io.Discard)
	}()
	socket := filepath.Join(data, adminSocket)
	for i := 0; ; i++ {
		if _, err := os.Stat(socket); err == nil {
			break
		}
		if i == 200 {
			cancel()
			t.Fatalf("no admin socket after 10s (serve: %v)", <-served)
		}
		time.Sleep(50 * time.Millisecond)
	}

	out, err := runCmd(t, "list", "--data", data, "--json")
	if err != nil || !strings.Contains(out, `"outcome":"archived"`) {
		t.Errorf("list while serving: %v %q", err, out)
	}
	got := filepath.Join(t.TempDir(), "got.zip")
	if _, err := runCmd(t, "get", "--data", data, "--repo", "DEMO/sample", "--branch", "main", "--out", got); err != nil {
		t.Errorf("get while serving: %v", err)
	} else if zr, err := zip.OpenReader(got); err != nil {
		t.Errorf("get while serving wrote no zip: %v", err)
	} else {
		_ = zr.Close()
	}
	if _, err := runCmd(t, "get", "--data", data, "--repo", "DEMO/nothing", "--branch", "main", "--out", got); err == nil {
		t.Error("get of an archive never made succeeded")
	}
	if out, err := runCmd(t, "dead", "--data", data); err != nil || !strings.HasPrefix(out, "SEQ") {
		t.Errorf("dead while serving: %v %q", err, out)
	}

	cancel()
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if _, err := os.Stat(socket); !os.IsNotExist(err) {
		t.Errorf("the admin socket outlived the server: %v", err)
	}
}
