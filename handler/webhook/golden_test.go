package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenResult is what a golden file holds for one input: the event, or the error.
type goldenResult struct {
	Event *Event `json:"event,omitempty"`
	Error string `json:"error,omitempty"`
	Is    string `json:"is,omitempty"`
	Field string `json:"field,omitempty"`
}

// contentTypes maps an input's extension to the Content-Type it is sent with.
var contentTypes = map[string]string{
	".json": "application/json",
	".form": "application/x-www-form-urlencoded",
	".txt":  "",
}

func TestParseGolden(t *testing.T) {
	inputs := goldenInputs(t)
	if len(inputs) < 50 {
		t.Fatalf("found %d golden inputs, want at least 50", len(inputs))
	}
	for _, in := range inputs {
		name := filepath.Base(in)
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := runGolden(t, contentTypes[filepath.Ext(in)], body)
			compareGolden(t, in+".golden", got)
		})
	}
}

// goldenInputs lists the inputs under testdata/golden, skipping the golden files themselves.
func goldenInputs(t *testing.T) []string {
	t.Helper()
	var inputs []string
	for ext := range contentTypes {
		matches, err := filepath.Glob(filepath.Join("testdata", "golden", "*"+ext))
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, matches...)
	}
	return inputs
}

// runGolden parses body and renders the outcome, checking the error contract on the way.
func runGolden(t *testing.T, contentType string, body []byte) []byte {
	t.Helper()
	ev, err := Parse(contentType, body)
	var res goldenResult
	if err == nil {
		res.Event = &ev
	} else {
		res.Error = err.Error()
		res.Is = classify(t, err)
		var fe *FieldError
		if errors.As(err, &fe) {
			res.Field = fe.Field
		}
	}
	out, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// classify names the sentinel err wraps and fails the test when it wraps neither or both.
func classify(t *testing.T, err error) string {
	t.Helper()
	malformed, invalid := errors.Is(err, ErrMalformed), errors.Is(err, ErrInvalid)
	switch {
	case malformed && !invalid:
		return "malformed"
	case invalid && !malformed:
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("error %q wraps ErrInvalid but is no *FieldError", err)
		}
		return "invalid"
	default:
		t.Errorf("error %q: wraps ErrMalformed=%v ErrInvalid=%v, want exactly one", err, malformed, invalid)
		return "unclassified"
	}
}

// compareGolden compares got with the golden file, or rewrites it under -update.
func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("result differs from %s\n got: %s\nwant: %s", path, got, want)
	}
}

func TestGoldenErrorsAreSafeToEcho(t *testing.T) {
	for _, in := range goldenInputs(t) {
		body, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse(contentTypes[filepath.Ext(in)], body)
		if err == nil {
			continue
		}
		msg := err.Error()
		if strings.ContainsFunc(msg, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\uFFFD' }) {
			t.Errorf("%s: error %q has control or replacement characters", in, msg)
		}
		if len(msg) > 400 {
			t.Errorf("%s: error is %d bytes long", in, len(msg))
		}
	}
}
