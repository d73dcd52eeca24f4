package xray

import (
	"context"
	"fmt"
	"sync"

	smithytracing "github.com/aws/smithy-go/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys of AWS call spans that the exporter reads. The first group is what the AWS SDK
// reports through its tracing hook; AttrRetries is added by [SDKTracerProvider].
const (
	AttrRPCSystem          = "rpc.system"
	AttrRPCService         = "rpc.service"
	AttrRPCMethod          = "rpc.method"
	AttrRequestID          = "aws.request_id"
	AttrHTTPStatus         = "http.status_code"
	AttrHTTPResponseLength = "http.response_content_length"
	AttrError              = "error"
	AttrErrorCode          = "api.error_code"
	AttrErrorFault         = "api.error_fault"
	AttrExceptionType      = "exception.type"
	AttrExceptionMessage   = "exception.message"

	AttrRetries = "aws.retries"
)

// rpcSystemAWS is the rpc.system the AWS SDK gives its operation spans.
const rpcSystemAWS = "aws-api"

// forwarded are the properties the SDK sets on its inner steps (retry loop, attempt, HTTP
// request, ...) that belong on the operation's span.
var forwarded = map[string]bool{AttrHTTPStatus: true, AttrHTTPResponseLength: true, AttrRequestID: true}

// kept are the operation span properties worth recording; others (endpoints, peer addresses,
// error messages that may quote requests) are dropped.
var kept = map[string]bool{
	AttrRPCSystem: true, AttrRPCService: true, AttrRPCMethod: true, AttrError: true,
	AttrErrorCode: true, AttrErrorFault: true, AttrExceptionType: true,
}

// SDKTracerProvider lets the AWS SDK's tracing hook (its TracerProvider client option) start
// OpenTelemetry spans from p: one span per API call, carrying service, operation, request id,
// HTTP status and retries. The SDK's inner steps start no spans of their own, so one call is
// one X-Ray subsegment.
func SDKTracerProvider(p trace.TracerProvider) smithytracing.TracerProvider { return sdkProvider{p} }

type sdkProvider struct{ p trace.TracerProvider }

func (o sdkProvider) Tracer(scope string, _ ...smithytracing.TracerOption) smithytracing.Tracer {
	return sdkTracer{o.p.Tracer(scope)}
}

type sdkTracer struct{ t trace.Tracer }

func (o sdkTracer) StartSpan(ctx context.Context, name string, opts ...smithytracing.SpanOption) (
	context.Context, smithytracing.Span) {
	var so smithytracing.SpanOptions
	for _, opt := range opts {
		opt(&so)
	}

	if so.Kind != smithytracing.SpanKindClient {
		op := operationOf(ctx)
		if op != nil && name == "Attempt" {
			op.attempt()
		}
		st := &stepSpan{name: name, op: op}
		return smithytracing.WithSpan(ctx, st), st
	}

	ctx, span := o.t.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient))
	op := &opSpan{name: name, s: span}
	for k, v := range so.Properties.Values() {
		op.SetProperty(k, v)
	}
	return smithytracing.WithSpan(ctx, op), op
}

// operationOf finds the innermost operation span the SDK started in ctx.
func operationOf(ctx context.Context) *opSpan {
	s, ok := smithytracing.GetSpan(ctx)
	if !ok {
		return nil
	}
	switch s := s.(type) {
	case *opSpan:
		return s
	case *stepSpan:
		return s.op
	}
	return nil
}

// opSpan is the OpenTelemetry span of one API call.
type opSpan struct {
	name string
	s    trace.Span

	mu       sync.Mutex
	attempts int64
}

func (o *opSpan) attempt() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.attempts++
	if o.attempts > 1 {
		o.s.SetAttributes(attribute.Int64(AttrRetries, o.attempts-1))
	}
}

func (o *opSpan) Name() string { return o.name }

func (o *opSpan) Context() smithytracing.SpanContext {
	sc := o.s.SpanContext()
	return smithytracing.SpanContext{TraceID: sc.TraceID().String(), SpanID: sc.SpanID().String(),
		IsRemote: sc.IsRemote()}
}

func (o *opSpan) AddEvent(string, ...smithytracing.EventOption) {}

func (o *opSpan) SetStatus(status smithytracing.SpanStatus) {
	if status == smithytracing.SpanStatusError {
		o.s.SetStatus(codes.Error, "")
	}
}

func (o *opSpan) SetProperty(k, v any) {
	key := fmt.Sprint(k)
	if !kept[key] && !forwarded[key] {
		return
	}
	switch v := v.(type) {
	case string:
		o.s.SetAttributes(attribute.String(key, v))
	case bool:
		o.s.SetAttributes(attribute.Bool(key, v))
	case int:
		o.s.SetAttributes(attribute.Int(key, v))
	case int64:
		o.s.SetAttributes(attribute.Int64(key, v))
	default:
		o.s.SetAttributes(attribute.String(key, fmt.Sprint(v)))
	}
}

func (o *opSpan) End() { o.s.End() }

// stepSpan stands for an inner step of an API call; it hands the few properties that matter
// to the call's span.
type stepSpan struct {
	name string
	op   *opSpan // nil outside an operation
}

func (s *stepSpan) Name() string { return s.name }

func (s *stepSpan) Context() smithytracing.SpanContext {
	if s.op == nil {
		return smithytracing.SpanContext{}
	}
	return s.op.Context()
}

func (s *stepSpan) AddEvent(string, ...smithytracing.EventOption) {}
func (s *stepSpan) SetStatus(smithytracing.SpanStatus)            {}
func (s *stepSpan) End()                                          {}

func (s *stepSpan) SetProperty(k, v any) {
	if s.op != nil && forwarded[fmt.Sprint(k)] {
		s.op.SetProperty(k, v)
	}
}
