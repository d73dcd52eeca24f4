//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/backlog-webhook/backlog-webhook/internal/rie"
)

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
