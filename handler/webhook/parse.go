package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxBodyBytes is the largest body Parse accepts (1 MiB). Backlog's push webhooks are a few KiB.
const MaxBodyBytes = 1 << 20

// Content types Backlog uses for its two webhook kinds.
const (
	ContentTypeJSON = "application/json"
	ContentTypeForm = "application/x-www-form-urlencoded"
)

// NewDelivery wraps a received body for queueing. Its ID is the hex SHA-256 of body,
// so a redelivery of the same body has the same ID. The body is copied.
func NewDelivery(contentType string, body []byte, now time.Time) Delivery {
	sum := sha256.Sum256(body)
	return Delivery{
		ID:          hex.EncodeToString(sum[:]),
		ContentType: contentType,
		Body:        bytes.Clone(body),
		ReceivedAt:  now.UTC(),
	}
}

// Parse reads a webhook body of either kind and returns the validated Event.
//
// contentType selects the kind; parameters such as charset are ignored. When it is
// missing or names neither JSON nor a form, or disagrees with the body, the body decides:
// one starting with '{' is JSON and one starting with "payload=" is a form.
// A JSON body with no "type" but with "ref" is read as a repository webhook payload.
//
// Events that are not branch pushes or deletions are returned without error and with
// Kind KindTag or KindOther and a Reason. Errors wrap ErrMalformed when the body cannot
// be read and ErrInvalid (as a *FieldError) when a field fails validation; their text is
// safe to return to the sender.
func Parse(contentType string, body []byte) (Event, error) {
	if len(body) > MaxBodyBytes {
		return Event{}, fmt.Errorf("%w: body is %d bytes, more than the limit of %d",
			ErrMalformed, len(body), MaxBodyBytes)
	}

	if isForm(contentType, body) {
		payload, err := formPayload(body)
		if err != nil {
			return Event{}, err
		}
		return parseRepository(payload)
	}

	if !utf8.Valid(body) {
		return Event{}, fmt.Errorf("%w: body is not valid UTF-8", ErrMalformed)
	}
	var probe struct {
		Type json.RawMessage `json:"type"`
		Ref  json.RawMessage `json:"ref"`
	}
	if err := decodeJSON(body, &probe); err != nil {
		return Event{}, err
	}
	if isAbsent(probe.Type) && !isAbsent(probe.Ref) {
		return parseRepository(body)
	}
	return parseProject(body)
}

// isForm decides whether body is a form (repository webhook) rather than JSON.
func isForm(contentType string, body []byte) bool {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	looksJSON := bytes.HasPrefix(trimmed, []byte("{"))
	looksForm := bytes.HasPrefix(body, []byte("payload=")) || bytes.Contains(body, []byte("&payload="))

	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = ""
	}
	switch {
	case mediaType == ContentTypeForm && !looksJSON:
		return true
	case (mediaType == ContentTypeJSON || strings.HasSuffix(mediaType, "+json")) && !looksForm:
		return false
	default:
		return looksForm && !looksJSON
	}
}

// formPayload returns the JSON held in the form field "payload".
func formPayload(body []byte) ([]byte, error) {
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: form body: %v", ErrMalformed, err)
	}
	payloads := values["payload"]
	switch {
	case len(payloads) == 0:
		return nil, fmt.Errorf("%w: form body has no field \"payload\"", ErrMalformed)
	case len(payloads) > 1:
		return nil, fmt.Errorf("%w: form body has %d fields \"payload\", want one", ErrMalformed, len(payloads))
	case !utf8.ValidString(payloads[0]):
		return nil, fmt.Errorf("%w: form field \"payload\" is not valid UTF-8", ErrMalformed)
	}
	return []byte(payloads[0]), nil
}

// decodeJSON unmarshals data into v and turns decoding errors into ErrMalformed errors
// that name the field when the JSON has the wrong type for it.
func decodeJSON(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return fmt.Errorf("%w: body is a JSON %s, not an object", ErrMalformed, typeErr.Value)
		}
		return fmt.Errorf("%w: field %s: JSON %s where %v was expected",
			ErrMalformed, typeErr.Field, typeErr.Value, typeErr.Type)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Errorf("%w: JSON syntax error at byte %d: %v", ErrMalformed, syntaxErr.Offset, err)
	}
	return fmt.Errorf("%w: JSON: %v", ErrMalformed, err)
}

// isAbsent reports whether a raw JSON value was missing or null.
func isAbsent(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}
