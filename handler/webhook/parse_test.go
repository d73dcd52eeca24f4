package webhook

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseContentType(t *testing.T) {
	jsonBody := readFile(t, filepath.Join("testdata", "golden", "project-update.json"))
	formBody := readFile(t, filepath.Join("testdata", "golden", "repo-update.form"))
	tests := []struct {
		name        string
		contentType string
		body        []byte
		wantType    int // 12 for the project webhook, 0 for the repository webhook
	}{
		{"json", "application/json", jsonBody, 12},
		{"json charset", "application/json; charset=UTF-8", jsonBody, 12},
		{"json upper case", "Application/JSON", jsonBody, 12},
		{"json leading space", "application/json", append([]byte("\n  "), jsonBody...), 12},
		{"form", "application/x-www-form-urlencoded", formBody, 0},
		{"form charset", "application/x-www-form-urlencoded; charset=utf-8", formBody, 0},
		{"missing sniffs json", "", jsonBody, 12},
		{"missing sniffs form", "", formBody, 0},
		{"text plain sniffs form", "text/plain", formBody, 0},
		{"unparsable sniffs json", ";;;", jsonBody, 12},
		{"form declared json body", "application/x-www-form-urlencoded", jsonBody, 12},
		{"json declared form body", "application/json", formBody, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse(tt.contentType, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind != KindPush || ev.Type != tt.wantType || ev.FullName() != "DEMO/api-server" {
				t.Errorf("got kind %s type %d %s, want push type %d DEMO/api-server",
					ev.Kind, ev.Type, ev.FullName(), tt.wantType)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tooBig := append([]byte(`{"type":12,"x":"`), bytes.Repeat([]byte("a"), MaxBodyBytes)...)
	tooBig = append(tooBig, `"}`...)
	tests := []struct {
		name        string
		contentType string
		body        []byte
		want        error
	}{
		{"too big", "application/json", tooBig, ErrMalformed},
		{"empty json", "application/json", nil, ErrMalformed},
		{"empty unknown", "", nil, ErrMalformed},
		{"plain text", "text/plain", []byte("hello"), ErrMalformed},
		{"json null", "application/json", []byte("null"), ErrInvalid},
		{"json string", "application/json", []byte(`"x"`), ErrMalformed},
		{"trailing data", "application/json", []byte(`{"type":13,"project":{"projectKey":"A"}} {}`), ErrMalformed},
		{"payload not json", "application/x-www-form-urlencoded", []byte("payload=hello"), ErrMalformed},
		{"payload empty object", "application/x-www-form-urlencoded", []byte("payload=%7B%7D"), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.contentType, tt.body)
			if !errors.Is(err, tt.want) {
				t.Errorf("got error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseAcceptsMaxBody(t *testing.T) {
	head := []byte(`{"type":13,"project":{"projectKey":"DEMO"},"pad":"`)
	body := append(head, bytes.Repeat([]byte("a"), MaxBodyBytes-len(head)-2)...)
	body = append(body, `"}`...)
	if len(body) != MaxBodyBytes {
		t.Fatalf("body is %d bytes, want %d", len(body), MaxBodyBytes)
	}
	ev, err := Parse("application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != KindOther {
		t.Errorf("got kind %s, want %s", ev.Kind, KindOther)
	}
}

func TestNewDelivery(t *testing.T) {
	body := []byte("payload=%7B%7D")
	now := time.Date(2026, 11, 30, 18, 0, 0, 0, time.FixedZone("JST", 9*3600))
	d := NewDelivery("application/x-www-form-urlencoded", body, now)

	// echo -n 'payload=%7B%7D' | sha256sum
	const want = "c9a9ff8126e94878114d12a11cc665fe257672fcff145d4b658f9c443ad3e945"
	if d.ID != want {
		t.Errorf("ID = %q, want %q", d.ID, want)
	}
	if d.ID == NewDelivery("", []byte("payload=%7B%7D "), now).ID {
		t.Error("different bodies got the same ID")
	}
	if !d.ReceivedAt.Equal(now) || d.ReceivedAt.Location() != time.UTC {
		t.Errorf("ReceivedAt = %v, want %v in UTC", d.ReceivedAt, now)
	}
	body[0] = 'X'
	if d.Body[0] != 'p' {
		t.Error("Delivery shares the caller's body slice")
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
