package xray

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// IDGenerator makes ids X-Ray accepts: the first four bytes of a trace id are the epoch
// second it was made, the rest random. It is safe for concurrent use.
type IDGenerator struct {
	// Now tells the time; nil means time.Now.
	Now func() time.Time
}

var _ sdktrace.IDGenerator = IDGenerator{}

// NewIDs returns a new trace id and the id of its first span.
func (g IDGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	var id trace.TraceID
	binary.BigEndian.PutUint32(id[:4], uint32(now().Unix()))
	binary.BigEndian.PutUint32(id[4:8], rand.Uint32())
	binary.BigEndian.PutUint64(id[8:], rand.Uint64())
	return id, g.NewSpanID(ctx, id)
}

// NewSpanID returns a new, non-zero span id.
func (IDGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	var id trace.SpanID
	for !id.IsValid() {
		binary.BigEndian.PutUint64(id[:], rand.Uint64())
	}
	return id
}
