package xray

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// lambdaTraceKey is the context key under which aws-lambda-go stores the invocation's trace
// header (the Lambda-Runtime-Trace-Id of the runtime API); the library uses a plain string.
const lambdaTraceKey = "x-amzn-trace-id"

// Errors a trace header can be refused with.
var (
	ErrNoRoot    = errors.New("trace header has no Root")
	ErrBadRoot   = errors.New("trace header Root is not an X-Ray trace id")
	ErrBadParent = errors.New("trace header Parent is not a 16-digit hex id")
)

// Header is a parsed X-Ray trace header such as
// "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".
type Header struct {
	TraceID trace.TraceID // from Root
	Parent  trace.SpanID  // from Parent; invalid when the header names none
	Sampled bool          // true only for Sampled=1
}

// ParseHeader reads an X-Ray trace header. Fields other than Root, Parent and Sampled are
// ignored; a missing or undecided Sampled counts as not sampled.
func ParseHeader(s string) (Header, error) {
	var h Header
	var root bool
	for field := range strings.SplitSeq(s, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(field), "=")
		switch k {
		case "Root":
			id, err := parseTraceID(v)
			if err != nil {
				return Header{}, err
			}
			h.TraceID, root = id, true
		case "Parent":
			id, err := trace.SpanIDFromHex(v)
			if err != nil {
				return Header{}, fmt.Errorf("%w: %q", ErrBadParent, v)
			}
			h.Parent = id
		case "Sampled":
			h.Sampled = v == "1"
		}
	}
	if !root {
		return Header{}, ErrNoRoot
	}
	return h, nil
}

// parseTraceID turns "1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx" into an OpenTelemetry trace id.
func parseTraceID(s string) (trace.TraceID, error) {
	var id trace.TraceID
	if len(s) != 35 || s[:2] != "1-" || s[10] != '-' {
		return id, fmt.Errorf("%w: %q", ErrBadRoot, s)
	}
	if _, err := hex.Decode(id[:4], []byte(s[2:10])); err != nil {
		return id, fmt.Errorf("%w: %q", ErrBadRoot, s)
	}
	if _, err := hex.Decode(id[4:], []byte(s[11:])); err != nil {
		return id, fmt.Errorf("%w: %q", ErrBadRoot, s)
	}
	if !id.IsValid() {
		return id, fmt.Errorf("%w: %q", ErrBadRoot, s)
	}
	return id, nil
}

// HeaderFromContext returns the trace header aws-lambda-go put into the invocation's context,
// or "" when there is none.
func HeaderFromContext(ctx context.Context) string {
	s, _ := ctx.Value(lambdaTraceKey).(string)
	return s
}

// ContextWithHeader makes the header's segment the remote parent of spans started from the
// returned context, sampled only when the header says Sampled=1. A header without Parent
// leaves ctx as it is: spans then start a trace of their own.
func ContextWithHeader(ctx context.Context, h Header) context.Context {
	if !h.TraceID.IsValid() || !h.Parent.IsValid() {
		return ctx
	}
	var flags trace.TraceFlags
	if h.Sampled {
		flags = trace.FlagsSampled
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: h.TraceID, SpanID: h.Parent,
		TraceFlags: flags, Remote: true})
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// traceIDString writes an OpenTelemetry trace id in X-Ray's form.
func traceIDString(id trace.TraceID) string {
	h := id.String()
	return "1-" + h[:8] + "-" + h[8:]
}
