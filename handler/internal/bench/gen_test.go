package bench

import (
	"os/exec"
	"strings"
	"testing"
)

// TestGenerateIsDeterministic generates a tiny spec twice and expects the same commit.
func TestGenerateIsDeterministic(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("needs git")
	}
	spec := Spec{Name: "tiny", Files: 20, MeanSize: 512, Commits: 2, Churn: 0.5, Seed: 9,
		Binaries: []Binary{{Path: "a.bin", Size: 4096}, {Path: "b.dat", Size: 4096, Compressible: true}}}

	var tips []string
	for range 2 {
		root, err := Ensure(t.Context(), t.TempDir(), spec)
		if err != nil {
			t.Fatal(err)
		}
		out, err := gitCmd(t.Context(), root+"/"+Project+"/tiny.git", "rev-parse", Branch).Output()
		if err != nil {
			t.Fatal(err)
		}
		tips = append(tips, strings.TrimSpace(string(out)))
	}
	if tips[0] != tips[1] || len(tips[0]) != 40 {
		t.Fatalf("tips %q differ or are not commit ids", tips)
	}
}
