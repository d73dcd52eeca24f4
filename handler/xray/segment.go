package xray

import (
	"encoding/binary"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Limits of the segment document format (and of what we choose to send).
const (
	maxNameRunes       = 200 // X-Ray's limit for a segment name
	maxAnnotationRunes = 250 // X-Ray's limit for most string values
	maxMessageRunes    = 500 // how much of an error message a cause keeps
	maxExceptions      = 4   // how many causes one document keeps
)

// document is an X-Ray segment or subsegment document, as far as this program fills it.
type document struct {
	Name        string         `json:"name"`
	ID          string         `json:"id"`
	TraceID     string         `json:"trace_id"`
	ParentID    string         `json:"parent_id,omitempty"`
	Type        string         `json:"type,omitempty"`
	StartTime   float64        `json:"start_time"`
	EndTime     float64        `json:"end_time"`
	Namespace   string         `json:"namespace,omitempty"`
	Error       bool           `json:"error,omitempty"`
	Fault       bool           `json:"fault,omitempty"`
	Throttle    bool           `json:"throttle,omitempty"`
	Cause       *cause         `json:"cause,omitempty"`
	HTTP        *httpInfo      `json:"http,omitempty"`
	AWS         *awsInfo       `json:"aws,omitempty"`
	Annotations map[string]any `json:"annotations,omitempty"`
}

type cause struct {
	Exceptions []exception `json:"exceptions"`
}

type exception struct {
	ID      string `json:"id"`
	Type    string `json:"type,omitempty"`
	Message string `json:"message,omitempty"`
	Remote  bool   `json:"remote,omitempty"`
}

type httpInfo struct {
	Response httpResponse `json:"response"`
}

type httpResponse struct {
	Status        int   `json:"status,omitempty"`
	ContentLength int64 `json:"content_length,omitempty"`
}

type awsInfo struct {
	Operation string `json:"operation,omitempty"`
	Region    string `json:"region,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	Retries   int64  `json:"retries,omitempty"`
}

// convert builds the document for one finished span. Spans with a parent become subsegments
// of it; a span without one becomes a segment named after the service.
func (e *Exporter) convert(s sdktrace.ReadOnlySpan) document {
	sc := s.SpanContext()
	d := document{
		Name:      s.Name(),
		ID:        sc.SpanID().String(),
		TraceID:   traceIDString(sc.TraceID()),
		StartTime: epochSeconds(s.StartTime()),
		EndTime:   epochSeconds(s.EndTime()),
	}
	if d.EndTime < d.StartTime {
		d.EndTime = d.StartTime
	}
	if p := s.Parent(); p.IsValid() {
		d.ParentID, d.Type = p.SpanID().String(), "subsegment"
	} else {
		d.Name = e.service
	}

	attrs := attrMap(s.Attributes())
	status := int(attrs[AttrHTTPStatus].AsInt64())
	failed := s.Status().Code == codes.Error || attrs[AttrError].AsBool()
	if attrs[AttrRPCSystem].AsString() == rpcSystemAWS {
		d.Namespace = "aws"
		d.Name = orDefault(attrs[AttrRPCService].AsString(), d.Name)
		d.AWS = &awsInfo{Operation: attrs[AttrRPCMethod].AsString(), Region: e.region,
			RequestID: attrs[AttrRequestID].AsString(), Retries: attrs[AttrRetries].AsInt64()}
		if status != 0 {
			d.HTTP = &httpInfo{Response: httpResponse{Status: status,
				ContentLength: attrs[AttrHTTPResponseLength].AsInt64()}}
		}
	}
	d.Name = cleanName(d.Name)
	d.Error, d.Fault, d.Throttle = classify(status, attrs[AttrErrorFault].AsString(), failed)
	if d.Error || d.Fault {
		d.Cause = causeOf(s, attrs)
	}
	d.Annotations = e.annotations(attrs)
	return d
}

// classify sets X-Ray's flags: error for client errors, fault for everything else that failed,
// throttle (with error) for HTTP 429.
func classify(status int, fault string, failed bool) (errFlag, faultFlag, throttle bool) {
	switch {
	case status == 429:
		return true, false, true
	case status >= 500:
		return false, true, false
	case status >= 400, fault == "client":
		return true, false, false
	case failed:
		return false, true, false
	}
	return false, false, false
}

// causeOf collects the span's recorded errors and the SDK's error properties.
func causeOf(s sdktrace.ReadOnlySpan, attrs map[attribute.Key]attribute.Value) *cause {
	var c cause
	add := func(typ, msg string, remote bool) {
		if (typ == "" && msg == "") || len(c.Exceptions) >= maxExceptions {
			return
		}
		id := exceptionID(s.SpanContext().SpanID(), len(c.Exceptions))
		c.Exceptions = append(c.Exceptions, exception{ID: id, Type: truncate(typ, maxAnnotationRunes),
			Message: truncate(msg, maxMessageRunes), Remote: remote})
	}
	for _, ev := range s.Events() {
		if ev.Name == "exception" {
			m := attrMap(ev.Attributes)
			add(m["exception.type"].AsString(), m["exception.message"].AsString(), false)
		}
	}
	code := attrs[AttrErrorCode].AsString()
	add(orDefault(code, attrs[AttrExceptionType].AsString()), attrs[AttrExceptionMessage].AsString(), code != "")
	if len(c.Exceptions) == 0 {
		add("", s.Status().Description, false)
	}
	if len(c.Exceptions) == 0 {
		return nil
	}
	return &c
}

// annotations keeps the allowed attributes, with keys and values in the forms X-Ray indexes.
func (e *Exporter) annotations(attrs map[attribute.Key]attribute.Value) map[string]any {
	var out map[string]any
	for k, v := range attrs {
		if !e.annotate[string(k)] {
			continue
		}
		var val any
		switch v.Type() {
		case attribute.STRING:
			val = truncate(v.AsString(), maxAnnotationRunes)
		case attribute.INT64:
			val = v.AsInt64()
		case attribute.FLOAT64:
			val = v.AsFloat64()
		case attribute.BOOL:
			val = v.AsBool()
		default:
			continue
		}
		if out == nil {
			out = make(map[string]any)
		}
		out[annotationKey(string(k))] = val
	}
	return out
}

// annotationKey maps an attribute key to X-Ray's annotation key alphabet (letters, digits, _).
func annotationKey(k string) string {
	return strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return '_'
	}, k)
}

// cleanName keeps the characters X-Ray allows in names and at most maxNameRunes of them.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsSpace(r) || strings.ContainsRune("_.:/%&#=+\\-@", r) {
			return r
		}
		return '_'
	}, s)
	if s == "" {
		s = "span"
	}
	return truncate(s, maxNameRunes)
}

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func truncate(s string, runes int) string {
	if utf8.RuneCountInString(s) <= runes {
		return s
	}
	return string([]rune(s)[:runes])
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// epochSeconds writes t as X-Ray's floating-point epoch seconds, to the microsecond.
func epochSeconds(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }

// exceptionID derives the id of the span's i-th exception from the span id, so ids are unique
// within a trace and the same span always gives the same document.
func exceptionID(span trace.SpanID, i int) string {
	var id trace.SpanID
	binary.BigEndian.PutUint64(id[:], binary.BigEndian.Uint64(span[:])^(uint64(i+1)*0x9e3779b97f4a7c15))
	return id.String()
}
