package xray

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// header starts every datagram the daemon accepts.
const header = `{"format":"json","version":1}` + "\n"

// maxDatagram bounds a datagram, header included, below both 64 KiB and the largest UDP
// payload over IPv4 (65,507 bytes).
const maxDatagram = 63 << 10

// Errors the exporter reports.
var (
	ErrBadAddress = errors.New("X-Ray daemon address has no usable UDP address")
	ErrTooLarge   = errors.New("segment document too large for one datagram")
)

// Exporter sends finished spans to the X-Ray daemon as segment documents over UDP. Built
// with no daemon address it sends nothing and reports no errors. It is safe for concurrent use.
type Exporter struct {
	service  string
	region   string
	annotate map[string]bool

	mu     sync.Mutex
	conn   net.Conn // nil when there is no daemon
	closed bool
}

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// Option configures an [Exporter].
type Option func(*Exporter)

// WithService names the segment written for spans that have no parent (default "backlog-webhook").
func WithService(name string) Option { return func(e *Exporter) { e.service = name } }

// WithRegion sets the region written on subsegments of AWS calls.
func WithRegion(region string) Option { return func(e *Exporter) { e.region = region } }

// WithAnnotations lists the attribute keys whose values become searchable annotations. Other
// attributes are never sent; list only keys whose values are safe to show.
func WithAnnotations(keys ...string) Option {
	return func(e *Exporter) {
		for _, k := range keys {
			e.annotate[k] = true
		}
	}
}

// New returns an exporter for the daemon at addr, in the form of AWS_XRAY_DAEMON_ADDRESS:
// "host:port", or "tcp:host:port udp:host:port" of which the UDP one is used. An empty addr
// gives an exporter that drops every span.
func New(addr string, opts ...Option) (*Exporter, error) {
	e := &Exporter{service: "backlog-webhook", annotate: make(map[string]bool)}
	for _, o := range opts {
		o(e)
	}
	if addr == "" {
		return e, nil
	}

	udp, err := udpAddress(addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.Dial("udp", udp)
	if err != nil {
		return nil, fmt.Errorf("xray: dial daemon %s: %w", udp, err)
	}
	e.conn = conn
	return e, nil
}

// udpAddress picks the UDP address out of an AWS_XRAY_DAEMON_ADDRESS value.
func udpAddress(addr string) (string, error) {
	fields := strings.Fields(addr)
	if len(fields) == 1 && !strings.HasPrefix(fields[0], "tcp:") {
		return strings.TrimPrefix(fields[0], "udp:"), nil
	}
	for _, f := range fields {
		if a, ok := strings.CutPrefix(f, "udp:"); ok {
			return a, nil
		}
	}
	return "", fmt.Errorf("xray: %w: %q", ErrBadAddress, addr)
}

// Enabled reports whether the exporter sends anything at all.
func (e *Exporter) Enabled() bool { return e.conn != nil }

// ExportSpans sends one datagram per sampled span. It tries every span and reports the
// failures together.
func (e *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.conn == nil {
		return nil
	}
	var errs []error
	for _, s := range spans {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if !s.SpanContext().IsSampled() {
			continue
		}
		d := e.convert(s)
		b, err := encode(d)
		if err == nil {
			err = e.send(b)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("xray: send %s %s: %w", d.Name, d.ID, err))
		}
	}
	return errors.Join(errs...)
}

// encode writes the datagram for d, dropping the cause and annotations when it would not fit.
func encode(d document) ([]byte, error) {
	b, err := datagram(d)
	if err != nil || len(b) <= maxDatagram {
		return b, err
	}
	d.Cause, d.Annotations = nil, nil
	b, err = datagram(d)
	if err != nil || len(b) <= maxDatagram {
		return b, err
	}
	return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(b))
}

func datagram(d document) ([]byte, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode segment: %w", err)
	}
	return append([]byte(header), b...), nil
}

func (e *Exporter) send(b []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return net.ErrClosed
	}
	_, err := e.conn.Write(b)
	return err
}

// Shutdown closes the connection to the daemon; later exports fail.
func (e *Exporter) Shutdown(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn == nil || e.closed {
		return nil
	}
	e.closed = true
	if err := e.conn.Close(); err != nil {
		return fmt.Errorf("xray: close daemon connection: %w", err)
	}
	return nil
}
