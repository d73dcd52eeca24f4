package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smithytracing "github.com/aws/smithy-go/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/backlog-webhook/backlog-webhook/handler/dynamoledger"
	"github.com/backlog-webhook/backlog-webhook/handler/lambdaconfig"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/s3store"
	"github.com/backlog-webhook/backlog-webhook/handler/secretkeys"
	"github.com/backlog-webhook/backlog-webhook/handler/sqsbatch"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

// tracerName names the spans this program starts.
const tracerName = "github.com/backlog-webhook/backlog-webhook/handler"

// flushTimeout bounds the export of an invocation's spans before Lambda freezes the process.
const flushTimeout = 2 * time.Second

// newTracerProvider, when set, builds the provider that exports traces, with its
// flush and shutdown functions. The default build sets none, so tracing is a no-op
// and neither the OpenTelemetry SDK nor an exporter is linked in; a build with the
// tag otlp sets it from a file of its own (see the README). Spans are exported only
// when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT names a
// collector, such as the ADOT Lambda layer that forwards them to X-Ray.
var newTracerProvider func(ctx context.Context) (p trace.TracerProvider, flush, shutdown func(context.Context) error,
	err error)

// runLambda serves SQS batches as an AWS Lambda function until the runtime stops it.
// It returns only when the configuration or a client cannot be set up.
func runLambda(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("lambda: takes no arguments, got %q; configure it through the environment", args)
	}

	log := lambdacontext.NewLogger()
	cfg, err := lambdaconfig.FromEnv(os.Getenv)
	if err != nil {
		return err
	}

	tracing, err := startTracing(ctx, log)
	if err != nil {
		return err
	}

	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("lambda: load AWS configuration: %w", err)
	}
	sdkTracer := otelProvider{tracing.provider}
	pathStyle := os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	s3Client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		o.TracerProvider = sdkTracer
	})
	dynamoClient := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.TracerProvider = sdkTracer })
	secretsClient := secretsmanager.NewFromConfig(awsCfg, func(o *secretsmanager.Options) {
		o.TracerProvider = sdkTracer
	})

	p := pipeline.New(
		pipeline.Config{GitServer: cfg.GitServer, Rules: cfg.Rules},
		s3store.New(s3Client, cfg.Bucket, s3store.WithLogger(log)),
		dynamoledger.New(dynamoClient, cfg.Table,
			dynamoledger.WithRetentionDays(cfg.RetentionDays), dynamoledger.WithLogger(log)),
		secretkeys.New(secretsClient, cfg.SSHSecretName, secretkeys.WithLogger(log)),
		log,
	)
	batch := &sqsbatch.Handler{
		Process: func(ctx context.Context, d webhook.Delivery) error {
			ctx, span := tracing.tracer.Start(ctx, "delivery", trace.WithAttributes(attribute.String("delivery.id", d.ID)))
			defer span.End()

			res, err := p.Handle(ctx, d)
			span.SetAttributes(attribute.Int("ledger.records", len(res.Records)))
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, "delivery will be retried")
			}
			return err
		},
		Logger:  log,
		Reserve: cfg.BatchReserve,
	}

	log.InfoContext(ctx, "lambda ready", slog.String("bucket", cfg.Bucket), slog.String("table", cfg.Table),
		slog.String("git_server", cfg.GitServer), slog.String("batch_reserve", cfg.BatchReserve.String()),
		slog.Bool("tracing", tracing.exporting))

	handle := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		ctx, span := tracing.tracer.Start(ctx, "sqs batch", trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(attribute.Int("messaging.batch.message_count", len(ev.Records))))
		resp, err := batch.Handle(ctx, ev)
		span.SetAttributes(attribute.Int("batch.failures", len(resp.BatchItemFailures)))
		span.End()
		tracing.flush(ctx, log)
		return resp, err
	}
	lambda.StartWithOptions(handle, lambda.WithContext(ctx),
		lambda.WithEnableSIGTERM(func() { tracing.shutdown(log) }))

	return nil
}

// tracing is the program's tracer and, when spans are exported, how to flush them.
type tracing struct {
	provider  trace.TracerProvider
	tracer    trace.Tracer
	exporting bool
	flushFn   func(context.Context) error // nil when nothing is exported
	stopFn    func(context.Context) error
}

// startTracing sets up an exporting provider when one is built in and an OTLP
// endpoint is configured, and a no-op provider otherwise: no collector, no export
// attempts and no error lines.
func startTracing(ctx context.Context, log *slog.Logger) (*tracing, error) {
	endpoint := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") + os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	if newTracerProvider == nil || endpoint == "" {
		provider := noop.NewTracerProvider()
		return &tracing{provider: provider, tracer: provider.Tracer(tracerName)}, nil
	}

	provider, flush, shutdown, err := newTracerProvider(ctx)
	if err != nil {
		return nil, fmt.Errorf("lambda: tracing: %w", err)
	}
	log.DebugContext(ctx, "tracing enabled")

	return &tracing{provider: provider, tracer: provider.Tracer(tracerName), exporting: true,
		flushFn: flush, stopFn: shutdown}, nil
}

// flush exports the invocation's spans before Lambda freezes the process.
func (t *tracing) flush(ctx context.Context, log *slog.Logger) {
	if t.flushFn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	if err := t.flushFn(ctx); err != nil {
		log.WarnContext(ctx, "trace export failed", slog.Any("error", err))
	}
}

// shutdown exports what is left when the runtime stops the process.
func (t *tracing) shutdown(log *slog.Logger) {
	if t.stopFn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	if err := t.stopFn(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("trace shutdown failed", slog.Any("error", err))
	}
}

// otelProvider lets the AWS SDK's built-in operation tracing (smithy-go's tracing
// interface) start OpenTelemetry spans, one per API call with its service and operation.
type otelProvider struct{ p trace.TracerProvider }

func (o otelProvider) Tracer(scope string, _ ...smithytracing.TracerOption) smithytracing.Tracer {
	return otelTracer{o.p.Tracer(scope)}
}

type otelTracer struct{ t trace.Tracer }

func (o otelTracer) StartSpan(ctx context.Context, name string, opts ...smithytracing.SpanOption) (
	context.Context, smithytracing.Span) {
	var so smithytracing.SpanOptions
	for _, opt := range opts {
		opt(&so)
	}
	kind := trace.SpanKindInternal
	if so.Kind == smithytracing.SpanKindClient {
		kind = trace.SpanKindClient
	}
	ctx, span := o.t.Start(ctx, name, trace.WithSpanKind(kind))
	return ctx, otelSpan{name: name, s: span}
}

type otelSpan struct {
	name string
	s    trace.Span
}

func (o otelSpan) Name() string { return o.name }

func (o otelSpan) Context() smithytracing.SpanContext {
	sc := o.s.SpanContext()
	return smithytracing.SpanContext{TraceID: sc.TraceID().String(), SpanID: sc.SpanID().String(),
		IsRemote: sc.IsRemote()}
}

func (o otelSpan) AddEvent(name string, _ ...smithytracing.EventOption) { o.s.AddEvent(name) }

func (o otelSpan) SetStatus(status smithytracing.SpanStatus) {
	switch status {
	case smithytracing.SpanStatusOK:
		o.s.SetStatus(codes.Ok, "")
	case smithytracing.SpanStatusError:
		o.s.SetStatus(codes.Error, "")
	}
}

func (o otelSpan) SetProperty(k, v any) {
	key := fmt.Sprint(k)
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

func (o otelSpan) End() { o.s.End() }
