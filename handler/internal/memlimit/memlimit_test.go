package memlimit

import (
	"runtime/debug"
	"testing"
)

func TestApply(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })

	tests := []struct {
		name       string
		archives   int
		gomemlimit string
		preset     int64
		want       int64
	}{
		{"one archive", 1, "", before, PerArchive},
		{"two workers", 2, "", before, 2 * PerArchive},
		{"operator's GOMEMLIMIT wins", 2, "50MiB", 50 << 20, 50 << 20},
		{"no archives leaves the limit alone", 0, "", 7 << 30, 7 << 30},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetMemoryLimit(tc.preset)
			if got := Apply(tc.archives, tc.gomemlimit); got != tc.want {
				t.Fatalf("Apply returned %d, want %d", got, tc.want)
			}
			if got := debug.SetMemoryLimit(-1); got != tc.want {
				t.Fatalf("limit in force %d, want %d", got, tc.want)
			}
		})
	}
}
