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
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/backlog-webhook/backlog-webhook/handler/dynamoledger"
	"github.com/backlog-webhook/backlog-webhook/handler/internal/memlimit"
	"github.com/backlog-webhook/backlog-webhook/handler/lambdaconfig"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/s3store"
	"github.com/backlog-webhook/backlog-webhook/handler/secretkeys"
	"github.com/backlog-webhook/backlog-webhook/handler/sqsbatch"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
	"github.com/backlog-webhook/backlog-webhook/handler/xray"
)

// tracerName names the spans this program starts.
const tracerName = "github.com/backlog-webhook/backlog-webhook/handler"

// flushTimeout bounds the export of an invocation's spans before Lambda freezes the process.
const flushTimeout = 2 * time.Second

// annotated are the span attributes X-Ray indexes as annotations: counts and the delivery id
// (a hash of the body), never bodies, keys or secrets.
var annotated = []string{"messaging.batch.message_count", "batch.failures", "delivery.id", "ledger.records"}

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
	// Messages of a batch are archived one at a time.
	log.DebugContext(ctx, "memory limit", slog.Int64("bytes", memlimit.Apply(1, os.Getenv("GOMEMLIMIT"))))

	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("lambda: load AWS configuration: %w", err)
	}
	tracing, err := startTracing(ctx, log, os.Getenv("AWS_XRAY_DAEMON_ADDRESS"),
		os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), awsCfg.Region)
	if err != nil {
		return err
	}
	sdkTracer := xray.SDKTracerProvider(tracing.provider)
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
		ctx = tracing.invocation(ctx, log)
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

// startTracing sets up export to the X-Ray daemon at daemonAddr, which Lambda names in
// AWS_XRAY_DAEMON_ADDRESS when the function's tracing is active, and a no-op provider when
// there is none (local runs, the emulator): no export attempts and no error lines.
func startTracing(ctx context.Context, log *slog.Logger, daemonAddr, service, region string) (*tracing, error) {
	if daemonAddr == "" {
		provider := noop.NewTracerProvider()
		return &tracing{provider: provider, tracer: provider.Tracer(tracerName)}, nil
	}

	exp, err := xray.New(daemonAddr, xray.WithService(service), xray.WithRegion(region),
		xray.WithAnnotations(annotated...))
	if err != nil {
		return nil, fmt.Errorf("lambda: tracing: %w", err)
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("trace export failed", slog.Any("error", err))
	}))
	provider := xray.NewTracerProvider(exp)
	log.DebugContext(ctx, "tracing to X-Ray", slog.String("daemon", daemonAddr))

	return &tracing{provider: provider, tracer: provider.Tracer(tracerName), exporting: true,
		flushFn: provider.ForceFlush, stopFn: provider.Shutdown}, nil
}

// invocation links the spans of one invocation to the function's segment named in the trace
// header Lambda passes with it, so they appear inside the invocation's trace and follow its
// sampling decision.
func (t *tracing) invocation(ctx context.Context, log *slog.Logger) context.Context {
	raw := xray.HeaderFromContext(ctx)
	if !t.exporting || raw == "" {
		return ctx
	}
	h, err := xray.ParseHeader(raw)
	if err != nil {
		log.DebugContext(ctx, "trace header ignored", slog.Any("error", err))
		return ctx
	}
	return xray.ContextWithHeader(ctx, h)
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
