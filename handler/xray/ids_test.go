package xray_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/xray"
)

func TestIDGenerator(t *testing.T) {
	tests := []struct {
		name string
		now  time.Time
	}{
		{name: "now", now: time.Unix(1764777600, 0)},
		{name: "far future", now: time.Unix(4102444800, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := xray.IDGenerator{Now: func() time.Time { return tt.now }}
			seen := make(map[string]bool)
			for range 100 {
				tr, sp := g.NewIDs(context.Background())
				if !tr.IsValid() || !sp.IsValid() {
					t.Fatalf("invalid ids %s %s", tr, sp)
				}
				secs, err := strconv.ParseUint(tr.String()[:8], 16, 32)
				if err != nil || int64(secs) != tt.now.Unix() {
					t.Fatalf("trace id %s starts with %d, want epoch seconds %d", tr, secs, tt.now.Unix())
				}
				if seen[tr.String()] {
					t.Fatalf("trace id %s made twice", tr)
				}
				seen[tr.String()] = true
			}
		})
	}
}
