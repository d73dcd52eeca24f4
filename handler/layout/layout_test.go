package layout

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

func TestKeys(t *testing.T) {
	tests := []struct {
		name   string
		target Target
		key    string
	}{
		{"plain branch keeps the original layout", Target{"DEMO", "api-server", "main", ""}, "DEMO/api-server/main.zip"},
		{"dots and dashes kept", Target{"DEMO", "api", "v1.2-rc", ""}, "DEMO/api/v1.2-rc.zip"},
		{"non-ASCII kept", Target{"DEMO", "api", "機能-ü", ""}, "DEMO/api/機能-ü.zip"},
		{"slash escaped", Target{"P", "r", "a/b", ""}, "P/r/a%2Fb.zip"},
		{"percent escaped", Target{"P", "r", "100%", ""}, "P/r/100%25.zip"},
		{"escape-looking branch", Target{"P", "r", "a%2Fb", ""}, "P/r/a%252Fb.zip"},
		{"leading dot escaped", Target{"P", "r", ".x", ""}, "P/r/%2Ex.zip"},
		{"dot dot branch", Target{"P", "r", "..", ""}, "P/r/%2E..zip"},
		{"control escaped", Target{"P", "r", "a\nb", ""}, "P/r/a%0Ab.zip"},
		{"C1 control escaped", Target{"P", "r", "a\u0085", ""}, "P/r/a%C2%85.zip"},
		{"invalid UTF-8 escaped", Target{"P", "r", "a\xffb", ""}, "P/r/a%FFb.zip"},
		{"zip branch", Target{"P", "r", "x.zip", ""}, "P/r/x.zip.zip"},
		{"subfolder", Target{"P", "r", "a", "b"}, "P/r/a/b.zip"},
		{"subfolder of slashed branch", Target{"P", "r", "release/1", "docs"}, "P/r/release%2F1/docs.zip"},
		{"dot subfolder kept", Target{"P", "r", "main", ".github"}, "P/r/main/.github.zip"},
		{"dot dot subfolder is a file name", Target{"P", "r", "main", ".."}, "P/r/main/...zip"},
		{"subfolder percent", Target{"P", "r", "main", "50%/x"}, "P/r/main/50%25%2Fx.zip"},
		{"dot branch directory escaped", Target{"P", "r", "..", "etc"}, "P/r/%2E./etc.zip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.target.Key(); got != tt.key {
				t.Fatalf("Key() = %q, want %q", got, tt.key)
			}
			got, err := Parse(tt.key)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.target {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.key, got, tt.target)
			}
			if !strings.HasPrefix(tt.key, Prefix(tt.target.Project, tt.target.Repo)) {
				t.Errorf("key %q lacks prefix %q", tt.key, Prefix(tt.target.Project, tt.target.Repo))
			}
		})
	}
}

func TestBranchWithSlashDiffersFromSubfolder(t *testing.T) {
	branch, sub := Key("P", "r", "a/b"), SubfolderKey("P", "r", "a", "b")
	if branch == sub {
		t.Fatalf("branch a/b and subfolder b of a share key %q", branch)
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, key, why string
	}{
		{"too few segments", "P/main.zip", "has 2 segments"},
		{"too many segments", "P/r/a/b/c.zip", "has 5 segments"},
		{"original ambiguous subfolder", "P/r/a/b/sub.zip", "has 5 segments"},
		{"no extension", "P/r/main", `does not end in ".zip"`},
		{"bad project", "p/r/main.zip", "invalid project"},
		{"bad repo", "P/.r/main.zip", "invalid repository"},
		{"empty branch", "P/r/.zip", "empty branch"},
		{"empty subfolder", "P/r/main/.zip", "empty subfolder"},
		{"lower-case escape", "P/r/a%2fb.zip", `bad escape "%2f"`},
		{"unknown escape", "P/r/a%zzb.zip", `bad escape "%zz"`},
		{"truncated escape", "P/r/a%2.zip", "truncated escape"},
		{"needless escape", "P/r/%61.zip", "not in canonical form"},
		{"unescaped leading dot", "P/r/.x.zip", "not in canonical form"},
		{"escaped dot inside", "P/r/a%2Eb.zip", "not in canonical form"},
		{"empty", "", "has 1 segments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.key)
			if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), tt.why) {
				t.Fatalf("Parse(%q) error = %v, want ErrKey saying %q", tt.key, err, tt.why)
			}
		})
	}
}

// FuzzKey checks that keys round-trip through Parse (which makes the layout injective),
// that whole-tree and subfolder keys never collide, and that every key is a safe path.
func FuzzKey(f *testing.F) {
	f.Add("DEMO", "api-server", "main", "docs")
	f.Add("P", "r", "a/b", "b")
	f.Add("P", "r", "a", "b/c")
	f.Fuzz(func(t *testing.T, project, repo, branch, sub string) {
		if tgt, err := Parse(branch); err == nil && tgt.Key() != branch {
			t.Fatalf("Parse accepted %q but writes it as %q", branch, tgt.Key())
		}
		if webhook.ValidateProject(project) != nil || webhook.ValidateRepo(repo) != nil || branch == "" {
			return
		}
		checkRoundTrip(t, Target{project, repo, branch, ""})
		if sub != "" {
			checkRoundTrip(t, Target{project, repo, branch, sub})
			if Key(project, repo, branch) == SubfolderKey(project, repo, branch, sub) {
				t.Fatalf("whole-tree and subfolder keys collide for %q %q", branch, sub)
			}
		}
	})
}

// checkRoundTrip checks that tgt's key parses back to tgt and is a safe path.
func checkRoundTrip(t *testing.T, tgt Target) {
	t.Helper()
	key := tgt.Key()
	got, err := Parse(key)
	if err != nil {
		t.Fatalf("Parse(%q) of %+v: %v", key, tgt, err)
	}
	if got != tgt {
		t.Fatalf("Parse(Key(%+v)) = %+v", tgt, got)
	}
	if !utf8.ValidString(key) || strings.ContainsFunc(key, unicode.IsControl) {
		t.Fatalf("key %q has invalid UTF-8 or control characters", key)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			t.Fatalf("key %q has segment %q", key, seg)
		}
	}
	if !strings.HasPrefix(key, Prefix(tgt.Project, tgt.Repo)) {
		t.Fatalf("key %q lacks its prefix", key)
	}
}
