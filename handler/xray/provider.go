package xray

import (
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// NewTracerProvider returns a provider that batches spans into exp, makes X-Ray ids and
// follows the sampling decision of the parent (the invocation's trace header), sampling spans
// that start a trace. Flush it with ForceFlush before the Lambda runtime freezes the process.
func NewTracerProvider(exp sdktrace.SpanExporter) *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithIDGenerator(IDGenerator{}),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
		sdktrace.WithResource(resource.Empty()),
	)
}
