package xray_test

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/backlog-webhook/backlog-webhook/handler/xray"
)

func TestParseHeader(t *testing.T) {
	root := "1-5759e988-bd862e3fe1be46a994272793"
	tests := []struct {
		name    string
		in      string
		want    xray.Header
		wantErr error
	}{
		{name: "sampled", in: "Root=" + root + ";Parent=53995c3f42cd8ad8;Sampled=1",
			want: xray.Header{TraceID: tid("5759e988bd862e3fe1be46a994272793"), Parent: sid("53995c3f42cd8ad8"),
				Sampled: true}},
		{name: "not sampled", in: "Root=" + root + ";Parent=53995c3f42cd8ad8;Sampled=0",
			want: xray.Header{TraceID: tid("5759e988bd862e3fe1be46a994272793"), Parent: sid("53995c3f42cd8ad8")}},
		{name: "undecided counts as not sampled", in: "Root=" + root + ";Parent=53995c3f42cd8ad8;Sampled=?",
			want: xray.Header{TraceID: tid("5759e988bd862e3fe1be46a994272793"), Parent: sid("53995c3f42cd8ad8")}},
		{name: "other fields and spaces", in: "Root=" + root + "; Parent=53995c3f42cd8ad8; Sampled=1; Lineage=a:1",
			want: xray.Header{TraceID: tid("5759e988bd862e3fe1be46a994272793"), Parent: sid("53995c3f42cd8ad8"),
				Sampled: true}},
		{name: "root only", in: "Root=" + root,
			want: xray.Header{TraceID: tid("5759e988bd862e3fe1be46a994272793")}},
		{name: "empty", in: "", wantErr: xray.ErrNoRoot},
		{name: "no root", in: "Parent=53995c3f42cd8ad8;Sampled=1", wantErr: xray.ErrNoRoot},
		{name: "wrong version", in: "Root=2-5759e988-bd862e3fe1be46a994272793", wantErr: xray.ErrBadRoot},
		{name: "short root", in: "Root=1-5759e988-bd862e3f", wantErr: xray.ErrBadRoot},
		{name: "not hex", in: "Root=1-5759e98z-bd862e3fe1be46a994272793", wantErr: xray.ErrBadRoot},
		{name: "zero root", in: "Root=1-00000000-000000000000000000000000", wantErr: xray.ErrBadRoot},
		{name: "bad parent", in: "Root=" + root + ";Parent=xyz", wantErr: xray.ErrBadParent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := xray.ParseHeader(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseHeader(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseHeader(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestContextWithHeader(t *testing.T) {
	tests := []struct {
		name        string
		header      xray.Header
		wantParent  bool
		wantSampled bool
	}{
		{name: "sampled", header: xray.Header{TraceID: tid("5759e988bd862e3fe1be46a994272793"),
			Parent: sid("53995c3f42cd8ad8"), Sampled: true}, wantParent: true, wantSampled: true},
		{name: "not sampled", header: xray.Header{TraceID: tid("5759e988bd862e3fe1be46a994272793"),
			Parent: sid("53995c3f42cd8ad8")}, wantParent: true},
		{name: "no parent", header: xray.Header{TraceID: tid("5759e988bd862e3fe1be46a994272793"), Sampled: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := trace.SpanContextFromContext(xray.ContextWithHeader(context.Background(), tt.header))
			if sc.IsValid() != tt.wantParent {
				t.Fatalf("parent valid = %v, want %v", sc.IsValid(), tt.wantParent)
			}
			if !tt.wantParent {
				return
			}
			if sc.TraceID() != tt.header.TraceID || sc.SpanID() != tt.header.Parent || !sc.IsRemote() {
				t.Errorf("parent = %s/%s remote=%v, want %s/%s remote", sc.TraceID(), sc.SpanID(), sc.IsRemote(),
					tt.header.TraceID, tt.header.Parent)
			}
			if sc.IsSampled() != tt.wantSampled {
				t.Errorf("sampled = %v, want %v", sc.IsSampled(), tt.wantSampled)
			}
		})
	}
}

func TestHeaderFromContext(t *testing.T) {
	const h = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	//lint:ignore SA1029 aws-lambda-go stores the header under this plain string key.
	ctx := context.WithValue(context.Background(), "x-amzn-trace-id", h)
	if got := xray.HeaderFromContext(ctx); got != h {
		t.Errorf("HeaderFromContext = %q, want %q", got, h)
	}
	if got := xray.HeaderFromContext(context.Background()); got != "" {
		t.Errorf("HeaderFromContext(empty) = %q, want empty", got)
	}
}

func tid(s string) trace.TraceID {
	id, err := trace.TraceIDFromHex(s)
	if err != nil {
		panic(err)
	}
	return id
}

func sid(s string) trace.SpanID {
	id, err := trace.SpanIDFromHex(s)
	if err != nil {
		panic(err)
	}
	return id
}
