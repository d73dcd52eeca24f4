//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/backlog-webhook/backlog-webhook/internal/syncbuf"
)

// rieModule is the AWS Lambda Runtime Interface Emulator, built from the Go module proxy.
const (
	rieModule  = "github.com/aws/aws-lambda-runtime-interface-emulator"
	rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"
)

// invokePath is where the emulator accepts invocations of its one function.
const invokePath = "/2015-03-31/functions/function/invocations"

// goCmd runs the go command in dir with extra environment and returns its standard output.
func goCmd(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()

	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}

	return strings.TrimSpace(string(out))
}

// buildRIE builds the emulator once into the user cache directory and returns its path.
// Its code stays in the module cache; nothing of it enters this repository.
func buildRIE(t *testing.T) string {
	t.Helper()

	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	bin := filepath.Join(cache, "backlog-webhook", "aws-lambda-rie-"+rieVersion)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}

	var mod struct{ Dir string }
	raw := goCmd(t, t.TempDir(), []string{"GOFLAGS=-mod=mod"}, "mod", "download", "-json", rieModule+"@"+rieVersion)
	if err := json.Unmarshal([]byte(raw), &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download %s: %v: %s", rieModule, err, raw)
	}

	env := []string{"GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false", "CGO_ENABLED=0"}
	var mainPkg string
	pkgs := goCmd(t, mod.Dir, env, "list", "-f", "{{.Name}} {{.ImportPath}}", "./cmd/...")
	for _, line := range strings.Split(pkgs, "\n") {
		if name, path, ok := strings.Cut(line, " "); ok && name == "main" {
			mainPkg = path
		}
	}
	if mainPkg == "" {
		t.Fatalf("no main package under %s/cmd", rieModule)
	}

	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	goCmd(t, mod.Dir, env, "build", "-trimpath", "-o", tmp, mainPkg)
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}

	return bin
}

// buildBootstrap builds pkg (a path relative to the module root) as a Lambda
// bootstrap for Linux on this machine's architecture and returns its path.
func buildBootstrap(t *testing.T, pkg string) string {
	t.Helper()

	root := goCmd(t, ".", nil, "list", "-m", "-f", "{{.Dir}}")
	bin := filepath.Join(t.TempDir(), "bootstrap")
	env := []string{"GOOS=linux", "GOARCH=" + runtime.GOARCH, "CGO_ENABLED=0"}
	goCmd(t, root, env, "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, pkg)

	return bin
}

// freeAddr returns a free 127.0.0.1:PORT. The port is released before use, so
// another program could take it in between; on this machine that is rare enough.
func freeAddr(t *testing.T) string {
	t.Helper()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	return addr
}

// emulator is a running Runtime Interface Emulator with one bootstrap.
type emulator struct {
	addr   string
	output *syncbuf.Buffer
}

// startEmulator runs rie with bootstrap and env (KEY=value) on loopback addresses only.
// The emulator and the bootstrap it starts run in their own process group, which
// t.Cleanup kills; their output is shown when the test fails.
func startEmulator(t *testing.T, rie, bootstrap string, env []string) *emulator {
	t.Helper()

	e := &emulator{addr: freeAddr(t), output: &syncbuf.Buffer{}}
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", e.addr,
		"--runtime-api-address", freeAddr(t),
		"--log-level", "error",
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = e.output, e.output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("emulator and function output:\n%s", e.output)
		}
	})

	for i := 0; ; i++ {
		c, err := net.Dial("tcp", e.addr)
		if err == nil {
			c.Close()
			break
		}
		if i == 200 {
			t.Fatalf("emulator never listened on %s: %v\n%s", e.addr, err, e.output)
		}
		time.Sleep(25 * time.Millisecond)
	}

	return e
}

// invokeResult is the emulator's answer: a batch response, or the function's error.
type invokeResult struct {
	events.SQSEventResponse
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

// invoke sends ev to the function and returns what it answered.
func (e *emulator) invoke(ctx context.Context, t *testing.T, ev events.SQSEvent) invokeResult {
	t.Helper()

	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+e.addr+invokePath, bytes.NewReader(body))
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
	var res invokeResult
	if err := json.Unmarshal(raw, &res); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("invoke: decode %q: %v", raw, err)
	}

	return res
}
