//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/backlog-webhook/backlog-webhook/internal/rie"
)

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

// emulator is the function under the Runtime Interface Emulator, invoked with SQS batches.
type emulator struct{ *rie.Emulator }

// startEmulator runs bootstrap under the emulator with env (KEY=value); see rie.Start.
func startEmulator(t *testing.T, rieBinary, bootstrap string, env []string) *emulator {
	t.Helper()

	return &emulator{rie.Start(t, rieBinary, bootstrap, env)}
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
	raw := e.Invoke(ctx, t, body)
	var res invokeResult
	if err := json.Unmarshal(raw, &res); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("invoke: decode %q: %v", raw, err)
	}

	return res
}
