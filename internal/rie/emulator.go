//go:build unix

package rie

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/backlog-webhook/backlog-webhook/internal/syncbuf"
)

// InvokePath is where the emulator accepts invocations of its one function.
const InvokePath = "/2015-03-31/functions/function/invocations"

// Emulator is a running Runtime Interface Emulator with one bootstrap.
type Emulator struct {
	// Addr is the 127.0.0.1:PORT the emulator accepts invocations on.
	Addr string
	// Output holds what the emulator and the function wrote to stdout and stderr.
	Output *syncbuf.Buffer

	cmd  *exec.Cmd
	stop sync.Once
}

// Option changes how Start runs the emulator.
type Option func(*config)

type config struct {
	logLevel string
}

// LogLevel sets the emulator's --log-level (default "error"); "info" makes it
// print its INIT REPORT and REPORT lines.
func LogLevel(level string) Option {
	return func(c *config) { c.logLevel = level }
}

// Start runs rieBinary with bootstrap and env (KEY=value) on loopback addresses only,
// and returns once the emulator accepts connections. The emulator and the bootstrap
// it starts run in their own process group, which Stop and t.Cleanup kill; their
// output is shown when the test fails.
func Start(t testing.TB, rieBinary, bootstrap string, env []string, opts ...Option) *Emulator {
	t.Helper()

	cfg := config{logLevel: "error"}
	for _, o := range opts {
		o(&cfg)
	}

	e := &Emulator{Addr: FreeAddr(t), Output: &syncbuf.Buffer{}}
	e.cmd = exec.Command(rieBinary,
		"--runtime-interface-emulator-address", e.Addr,
		"--runtime-api-address", FreeAddr(t),
		"--log-level", cfg.logLevel,
		bootstrap)
	e.cmd.Dir = filepath.Dir(bootstrap)
	e.cmd.Env = env
	e.cmd.Stdout, e.cmd.Stderr = e.Output, e.Output
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() {
		e.Stop()
		if t.Failed() {
			t.Logf("emulator and function output:\n%s", e.Output)
		}
	})

	for i := 0; ; i++ {
		c, err := net.Dial("tcp", e.Addr)
		if err == nil {
			c.Close()
			break
		}
		if i == 200 {
			t.Fatalf("emulator never listened on %s: %v\n%s", e.Addr, err, e.Output)
		}
		time.Sleep(25 * time.Millisecond)
	}

	return e
}

// Stop kills the emulator's process group and waits for the emulator to exit.
// It is safe to call more than once; t.Cleanup calls it too.
func (e *Emulator) Stop() {
	e.stop.Do(func() {
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		_ = e.cmd.Wait()
	})
}

// Invoke sends payload (raw JSON) to the function and returns the body it answered.
// Anything but 200 OK fails the test.
func (e *Emulator) Invoke(ctx context.Context, t testing.TB, payload []byte) []byte {
	t.Helper()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+e.Addr+InvokePath,
		bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	defer resp.Body.Close()

	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("invoke: read answer: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke: status %s: %s", resp.Status, raw)
	}

	return raw
}
