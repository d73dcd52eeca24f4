package xray_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/backlog-webhook/backlog-webhook/handler/xray"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// lambdaHeader is the trace header of the invocation the test spans belong to.
const lambdaHeader = "Root=1-69305f00-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"

var (
	start = time.Date(2025, 12, 3, 16, 0, 0, 123456000, time.UTC)
	end   = start.Add(1500 * time.Millisecond)
)

// stub is a finished span of the invocation's trace with the given parent (invalid for none).
func stub(name string, id string, parent trace.SpanID) tracetest.SpanStub {
	h, err := xray.ParseHeader(lambdaHeader)
	if err != nil {
		panic(err)
	}
	s := tracetest.SpanStub{
		Name: name,
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: h.TraceID, SpanID: sid(id),
			TraceFlags: trace.FlagsSampled}),
		StartTime: start,
		EndTime:   end,
	}
	if parent.IsValid() {
		s.Parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: h.TraceID, SpanID: parent,
			TraceFlags: trace.FlagsSampled, Remote: true})
	}
	return s
}

func awsCall(status int64, extra ...attribute.KeyValue) []attribute.KeyValue {
	return append([]attribute.KeyValue{
		attribute.String(xray.AttrRPCSystem, "aws-api"), attribute.String(xray.AttrRPCService, "S3"),
		attribute.String(xray.AttrRPCMethod, "HeadObject"), attribute.Int64(xray.AttrHTTPStatus, status),
		attribute.String(xray.AttrRequestID, "REQ-1"),
	}, extra...)
}

func newExporter(t *testing.T, addr string) *xray.Exporter {
	t.Helper()
	exp, err := xray.New(addr, xray.WithService("archive-fn"), xray.WithRegion("ap-northeast-1"),
		xray.WithAnnotations("messaging.batch.message_count", "batch.failures", "delivery.id"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp
}

func TestExporterDocuments(t *testing.T) {
	functionSegment := sid("53995c3f42cd8ad8")
	batch := sid("1111111111111111")
	tests := []struct {
		name   string
		span   func() tracetest.SpanStub
		hidden []string // strings that must not reach the daemon
	}{
		{name: "batch_subsegment", span: func() tracetest.SpanStub {
			s := stub("sqs batch", "1111111111111111", functionSegment)
			s.Attributes = []attribute.KeyValue{attribute.Int("messaging.batch.message_count", 3),
				attribute.Int("batch.failures", 0), attribute.String("message.body", "BODY-SECRET"),
				attribute.String("ssh.private_key", "KEY-SECRET")}
			return s
		}, hidden: []string{"BODY-SECRET", "KEY-SECRET"}},
		{name: "segment_without_parent", span: func() tracetest.SpanStub {
			return stub("sqs batch", "2222222222222222", trace.SpanID{})
		}},
		{name: "aws_call", span: func() tracetest.SpanStub {
			s := stub("S3.PutObject", "3333333333333333", batch)
			s.Attributes = awsCall(200, attribute.Int64(xray.AttrRetries, 1),
				attribute.Int64(xray.AttrHTTPResponseLength, 0), attribute.Bool(xray.AttrError, false))
			return s
		}},
		{name: "aws_client_error", span: func() tracetest.SpanStub {
			s := stub("S3.HeadObject", "4444444444444444", batch)
			s.Attributes = awsCall(404, attribute.String(xray.AttrErrorCode, "NotFound"),
				attribute.String(xray.AttrErrorFault, "client"), attribute.Bool(xray.AttrError, true))
			s.Status = sdktrace.Status{Code: codes.Error}
			return s
		}},
		{name: "aws_throttled", span: func() tracetest.SpanStub {
			s := stub("S3.HeadObject", "5555555555555555", batch)
			s.Attributes = awsCall(429, attribute.String(xray.AttrErrorCode, "SlowDown"),
				attribute.Bool(xray.AttrError, true))
			return s
		}},
		{name: "aws_server_fault", span: func() tracetest.SpanStub {
			s := stub("S3.HeadObject", "6666666666666666", batch)
			s.Attributes = awsCall(503, attribute.String(xray.AttrErrorCode, "ServiceUnavailable"),
				attribute.String(xray.AttrErrorFault, "server"), attribute.Bool(xray.AttrError, true))
			return s
		}},
		{name: "failed_delivery", span: func() tracetest.SpanStub {
			s := stub("delivery", "7777777777777777", batch)
			s.Attributes = []attribute.KeyValue{attribute.String("delivery.id", "msg-1")}
			s.Status = sdktrace.Status{Code: codes.Error, Description: "delivery will be retried"}
			s.Events = []sdktrace.Event{{Name: "exception", Time: end, Attributes: []attribute.KeyValue{
				attribute.String("exception.type", "*fmt.wrapError"),
				attribute.String("exception.message", "clone DEMO/api@main: ssh: handshake failed"),
			}}}
			return s
		}},
		{name: "name_cleaned", span: func() tracetest.SpanStub {
			return stub("archive <DEMO/api> "+strings.Repeat("x", 300), "8888888888888888", batch)
		}},
	}

	d := startDaemon(t)
	exp := newExporter(t, d.addr())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spans := tracetest.SpanStubs{tt.span()}.Snapshots()
			if err := exp.ExportSpans(context.Background(), spans); err != nil {
				t.Fatal(err)
			}

			raw, doc := d.next(t)
			for _, h := range tt.hidden {
				if bytes.Contains(raw, []byte(h)) {
					t.Errorf("datagram carries %q", h)
				}
			}
			checkGolden(t, filepath.Join("testdata", tt.name+".json"), doc)
		})
	}
}

// checkGolden compares doc with the JSON document in path (rewritten with -update).
func checkGolden(t *testing.T, path string, doc map[string]any) {
	t.Helper()
	if *update {
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !reflect.DeepEqual(doc, want) {
		got, _ := json.MarshalIndent(doc, "", "  ")
		t.Errorf("document differs from %s:\n%s", path, got)
	}
}

func TestExporterAddress(t *testing.T) {
	d := startDaemon(t)
	tests := []struct {
		name    string
		addr    string
		wantErr error
	}{
		{name: "host and port", addr: d.addr()},
		{name: "udp prefix", addr: "udp:" + d.addr()},
		{name: "tcp and udp", addr: "tcp:127.0.0.1:2000 udp:" + d.addr()},
		{name: "tcp only", addr: "tcp:127.0.0.1:2000", wantErr: xray.ErrBadAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp, err := xray.New(tt.addr)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("New(%q) error = %v, want %v", tt.addr, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
			span := stub("sqs batch", "1111111111111111", sid("53995c3f42cd8ad8"))
			if err := exp.ExportSpans(context.Background(), tracetest.SpanStubs{span}.Snapshots()); err != nil {
				t.Fatal(err)
			}
			if _, doc := d.next(t); doc["id"] != "1111111111111111" {
				t.Errorf("daemon got id %v, want 1111111111111111", doc["id"])
			}
		})
	}
}

func TestExporterWithoutDaemon(t *testing.T) {
	exp, err := xray.New("")
	if err != nil {
		t.Fatal(err)
	}
	if exp.Enabled() {
		t.Error("exporter without an address is enabled")
	}
	span := stub("sqs batch", "1111111111111111", sid("53995c3f42cd8ad8"))
	if err := exp.ExportSpans(context.Background(), tracetest.SpanStubs{span}.Snapshots()); err != nil {
		t.Errorf("ExportSpans = %v, want nil", err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown = %v, want nil", err)
	}
}
