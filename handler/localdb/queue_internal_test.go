package localdb

import (
	"errors"
	"strings"
	"testing"
)

func TestShortError(t *testing.T) {
	tests := []struct {
		name  string
		cause error
		want  string
	}{
		{name: "none", cause: nil, want: ""},
		{name: "one line", cause: errors.New("clone DEMO/api@main: refused"), want: "clone DEMO/api@main: refused"},
		{name: "newlines and tabs", cause: errors.New("a\nb\tc\r"), want: "a b c "},
		{name: "invalid UTF-8", cause: errors.New("a\xffb"), want: "a?b"},
		{name: "long", cause: errors.New(strings.Repeat("x", 400)), want: strings.Repeat("x", maxLastError) + "…"},
		{
			name:  "long cut at a rune boundary",
			cause: errors.New(strings.Repeat("x", maxLastError-1) + "é" + "tail"),
			want:  strings.Repeat("x", maxLastError-1) + "…",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shortError(tt.cause); got != tt.want {
				t.Fatalf("shortError = %q, want %q", got, tt.want)
			}
		})
	}
}
