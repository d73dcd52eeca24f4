package xray_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/backlog-webhook/backlog-webhook/handler/xray"
)

// TestProviderFollowsHeader runs spans through the provider the Lambda uses: a span under a
// Sampled=0 header must not reach the daemon, one under Sampled=1 must, as a subsegment of
// the header's Parent.
func TestProviderFollowsHeader(t *testing.T) {
	tests := []struct {
		name     string
		header   string
		wantSent bool
	}{
		{name: "sampled", header: "Root=1-69305f00-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
			wantSent: true},
		{name: "not sampled", header: "Root=1-69305f00-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0"},
		{name: "undecided", header: "Root=1-69305f00-0123456789abcdef01234567;Parent=53995c3f42cd8ad8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := startDaemon(t)
			tp := xray.NewTracerProvider(newExporter(t, d.addr()))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			tracer := tp.Tracer("test")

			h, err := xray.ParseHeader(tt.header)
			if err != nil {
				t.Fatal(err)
			}
			ctx, batch := tracer.Start(xray.ContextWithHeader(context.Background(), h), "sqs batch")
			_, delivery := tracer.Start(ctx, "delivery")
			delivery.End()
			batch.End()

			// A span under a sampled header of its own marks the end of what this case sent.
			marker, err := xray.ParseHeader("Root=1-69305f00-ffffffffffffffffffffffff;Parent=aaaaaaaaaaaaaaaa;Sampled=1")
			if err != nil {
				t.Fatal(err)
			}
			_, end := tracer.Start(xray.ContextWithHeader(context.Background(), marker), "marker")
			end.End()
			if err := tp.ForceFlush(context.Background()); err != nil {
				t.Fatal(err)
			}

			var got []map[string]any
			for {
				_, doc := d.next(t)
				if doc["name"] == "marker" {
					break
				}
				got = append(got, doc)
			}
			if !tt.wantSent {
				if len(got) != 0 {
					t.Fatalf("daemon got %d documents for an unsampled trace: %v", len(got), got)
				}
				return
			}
			if len(got) != 2 {
				t.Fatalf("daemon got %d documents, want 2: %v", len(got), got)
			}
			del, bat := got[0], got[1] // the child ends first
			for _, doc := range got {
				if doc["trace_id"] != "1-69305f00-0123456789abcdef01234567" || doc["type"] != "subsegment" {
					t.Errorf("document %v is not a subsegment of the header's trace", doc)
				}
				if doc["start_time"].(float64) > doc["end_time"].(float64) {
					t.Errorf("document %v ends before it starts", doc)
				}
			}
			if bat["parent_id"] != "53995c3f42cd8ad8" {
				t.Errorf("batch parent_id = %v, want the header's Parent", bat["parent_id"])
			}
			if del["parent_id"] != bat["id"] {
				t.Errorf("delivery parent_id = %v, want the batch id %v", del["parent_id"], bat["id"])
			}
		})
	}
}

// TestProviderWithoutHeader checks that a trace started here gets an X-Ray trace id of now and
// a segment at its root.
func TestProviderWithoutHeader(t *testing.T) {
	d := startDaemon(t)
	tp := xray.NewTracerProvider(newExporter(t, d.addr()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	_, span := tp.Tracer("test").Start(context.Background(), "sqs batch")
	span.End()
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}

	_, doc := d.next(t)
	id, _ := doc["trace_id"].(string)
	var secs int64
	if _, err := fmt.Sscanf(id, "1-%8x-", &secs); err != nil || len(id) != 35 {
		t.Fatalf("trace_id %q is not an X-Ray trace id", id)
	}
	if start := int64(doc["start_time"].(float64)); secs > start || secs < start-1 {
		t.Errorf("trace_id %q is not stamped with the span start %d", id, start)
	}
	if doc["name"] != "archive-fn" || doc["type"] != nil || doc["parent_id"] != nil {
		t.Errorf("root document %v is not a segment named after the service", doc)
	}
}

// TestExporterLargeSpans checks that oversized content is cut so every datagram stays under 64 KiB.
func TestExporterLargeSpans(t *testing.T) {
	huge := strings.Repeat("𝄞", 70<<10) // four bytes each in UTF-8
	tests := []struct {
		name      string
		span      func() tracetest.SpanStub
		wantCause bool
	}{
		{name: "long error messages", wantCause: true, span: func() tracetest.SpanStub {
			s := stub("delivery", "7777777777777777", sid("1111111111111111"))
			s.Status.Code = codes.Error
			for i := range 50 {
				s.Events = append(s.Events, exceptionEvent(fmt.Sprintf("type%d", i), huge))
			}
			return s
		}},
		{name: "long annotations", span: func() tracetest.SpanStub {
			s := stub("delivery", "7777777777777777", sid("1111111111111111"))
			s.Attributes = []attribute.KeyValue{attribute.String("delivery.id", huge)}
			return s
		}},
	}
	d := startDaemon(t)
	exp := newExporter(t, d.addr())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := exp.ExportSpans(context.Background(), tracetest.SpanStubs{tt.span()}.Snapshots()); err != nil {
				t.Fatal(err)
			}
			raw, doc := d.next(t)
			if len(raw) >= 64<<10 {
				t.Errorf("datagram is %d bytes, want under 64 KiB", len(raw))
			}
			if _, ok := doc["cause"]; ok != tt.wantCause {
				t.Errorf("cause present = %v, want %v", ok, tt.wantCause)
			}
			if doc["id"] != "7777777777777777" {
				t.Errorf("id = %v", doc["id"])
			}
			if a, ok := doc["annotations"].(map[string]any); ok && len([]rune(a["delivery_id"].(string))) > 250 {
				t.Errorf("annotation delivery_id keeps %d characters, want at most 250", len([]rune(a["delivery_id"].(string))))
			}
		})
	}
}

func exceptionEvent(typ, msg string) sdktrace.Event {
	return sdktrace.Event{Name: "exception", Time: end, Attributes: []attribute.KeyValue{
		attribute.String("exception.type", typ), attribute.String("exception.message", msg)}}
}
