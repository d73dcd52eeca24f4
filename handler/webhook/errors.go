package webhook

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// Errors Parse returns; test them with errors.Is.
var (
	// ErrMalformed means the body could not be read at all: it is too large, not valid UTF-8,
	// not JSON, or a form without its payload field.
	ErrMalformed = errors.New("malformed webhook body")

	// ErrInvalid means the body was read but a field failed validation.
	// Errors wrapping it are *FieldError values that name the field.
	ErrInvalid = errors.New("invalid webhook field")
)

// maxValueBytes bounds how much of an offending value a FieldError repeats.
const maxValueBytes = 64

// FieldError says which field of a webhook failed validation and why.
// Its message is safe to send back to the caller in a 400 response and to log:
// the value is quoted with Go escapes and truncated.
type FieldError struct {
	// Field is the path of the field in the body, e.g. "content.ref" or "repository.url".
	Field string

	// Value is the offending value, quoted and truncated; empty when the field is missing.
	Value string

	// Reason says what is wrong with the value.
	Reason string
}

// Error describes the field, its value and the reason.
func (e *FieldError) Error() string {
	if e.Value == "" {
		return "invalid " + e.Field + ": " + e.Reason
	}
	return "invalid " + e.Field + " " + e.Value + ": " + e.Reason
}

// Unwrap makes every FieldError match ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// fieldErr builds a FieldError, quoting and truncating value.
func fieldErr(field, value, reason string) *FieldError {
	return &FieldError{Field: field, Value: quote(value), Reason: reason}
}

// missing builds a FieldError for a field that is absent, null or empty.
func missing(field string) *FieldError {
	return &FieldError{Field: field, Reason: "missing"}
}

// quote renders s as an ASCII-only Go string literal of at most maxValueBytes of s,
// cut on a rune boundary and marked with "..." when cut.
func quote(s string) string {
	if len(s) <= maxValueBytes {
		return strconv.QuoteToASCII(s)
	}
	cut := maxValueBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.QuoteToASCII(s[:cut]) + "..."
}
