package localdb_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// crashEnv names the database the child process writes before it is killed.
const crashEnv = "LOCALDB_CRASH_CHILD_DB"

// TestCrashChild is the child half of TestEnqueueSurvivesCrash; it runs only when started by it.
// It enqueues two deliveries, fails one once, says "ready" and waits to be killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("runs only as the child of TestEnqueueSurvivesCrash")
	}
	db := openDB(t, path)
	enqueue(t, db, "DEMO/api", "a")
	b := enqueue(t, db, "DEMO/api", "b")
	if _, err := db.Fail(b.Seq, errors.New("clone refused"), 5); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	select {}
}

func TestEnqueueSurvivesCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backlog-webhook.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("child said %q, %v; want ready", line, err)
	}
	// SIGKILL: no Close, no deferred code; only what was committed remains.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	db := openDB(t, path)
	pending, err := db.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 2 {
		t.Fatalf("after the crash %d messages are pending, want 2", len(pending))
	}
	a, b := pending[0], pending[1]
	if a.Delivery.ID != "a" || !bytes.Equal(a.Delivery.Body, delivery("a").Body) || a.Attempts != 0 {
		t.Fatalf("first pending message = %+v", a)
	}
	if b.Delivery.ID != "b" || b.Attempts != 1 || b.LastError != "clone refused" {
		t.Fatalf("second pending message = %+v", b)
	}
	if _, dup, err := db.Enqueue("DEMO/api", delivery("a")); err != nil || !dup {
		t.Fatalf("Enqueue after the crash = dup %v, %v; want a duplicate", dup, err)
	}
}
