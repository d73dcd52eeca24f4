package localstore

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestKeyPath(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want string // empty: ErrInvalidKey expected
	}{
		{name: "branch archive", key: "DEMO/api-server/main.zip", want: "objects/DEMO/api-server/main.zip"},
		{name: "escaped branch", key: "DEMO/api-server/feature%2Fx.zip", want: "objects/DEMO/api-server/feature%2Fx.zip"},
		{name: "subfolder", key: "DEMO/api-server/main/docs.zip", want: "objects/DEMO/api-server/main/docs.zip"},
		{name: "reserved prefix doubled", key: "DEMO/@current", want: "objects/DEMO/@@current"},
		{name: "doubled prefix doubled again", key: "DEMO/@@x", want: "objects/DEMO/@@@x"},
		{name: "dots inside a name", key: "a/..b/c..", want: "objects/a/..b/c.."},
		{name: "empty", key: ""},
		{name: "absolute", key: "/etc/passwd"},
		{name: "parent", key: "../x"},
		{name: "parent inside", key: "a/../../x"},
		{name: "dot", key: "a/./b"},
		{name: "only dot dot", key: ".."},
		{name: "NUL", key: "a/b\x00c"},
		{name: "empty segment", key: "a//b"},
		{name: "trailing slash", key: "a/b/"},
		{name: "backslash", key: `a\..\..\b`},
		{name: "overlong segment", key: "a/" + strings.Repeat("x", 256)},
		{name: "overlong after escaping", key: "a/@" + strings.Repeat("x", 254)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := keyPath(tt.key)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalidKey) {
					t.Fatalf("keyPath(%q) = %q, %v; want ErrInvalidKey", tt.key, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("keyPath(%q) = %q, %v; want %q", tt.key, got, err, tt.want)
			}
		})
	}
}

func TestCheckVersion(t *testing.T) {
	tests := []struct {
		name    string
		version string
		ok      bool
	}{
		{name: "issued form", version: "20260102T030405.000000007Z", ok: true},
		{name: "parent", version: "../../x"},
		{name: "word", version: "latest"},
		{name: "short nanos", version: "20260102T030405.7Z"},
		{name: "trailing path", version: "20260102T030405.000000007Z/../x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkVersion(tt.version)
			if tt.ok != (err == nil) {
				t.Fatalf("checkVersion(%q) = %v, want ok=%v", tt.version, err, tt.ok)
			}
		})
	}
}

func TestNextVersionMonotonic(t *testing.T) {
	s := &Store{}
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s.clock = func() time.Time { return fixed }

	prev := ""
	for i := range 5 {
		v := s.nextVersion(prev)
		if v <= prev {
			t.Fatalf("id %d %q not after %q", i, v, prev)
		}
		prev = v
	}

	// Ids stay unique across keys (no previous id) while the clock stands still.
	if a, b := s.nextVersion(""), s.nextVersion(""); b <= a {
		t.Fatalf("ids %q then %q with a still clock", a, b)
	}

	// A current version from a clock that ran ahead still orders the next id after it.
	ahead := fixed.Add(time.Hour).Format(versionLayout)
	if v := s.nextVersion(ahead); v <= ahead {
		t.Fatalf("nextVersion(%q) = %q, want later", ahead, v)
	}
}
