package webhook

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzParse feeds bodies of both kinds to Parse. Seeds: testdata/fuzz/FuzzParse and the golden inputs.
func FuzzParse(f *testing.F) {
	matches, err := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range matches {
		ct, ok := contentTypes[filepath.Ext(path)]
		if !ok {
			continue
		}
		body, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ct, body)
	}

	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		ev, err := Parse(contentType, body)
		if err != nil {
			checkParseError(t, err)
			return
		}
		checkEvent(t, ev)
	})
}

// checkParseError checks that err wraps exactly one sentinel and is safe to echo.
func checkParseError(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, ErrMalformed) == errors.Is(err, ErrInvalid) {
		t.Fatalf("error %q wraps neither or both of ErrMalformed and ErrInvalid", err)
	}
	var fe *FieldError
	if errors.Is(err, ErrInvalid) && !errors.As(err, &fe) {
		t.Fatalf("error %q wraps ErrInvalid but is no *FieldError", err)
	}
	if msg := err.Error(); !utf8.ValidString(msg) || strings.ContainsFunc(msg, unicode.IsControl) {
		t.Fatalf("error %q is not safe to echo", msg)
	}
}

// checkEvent checks the invariants of an accepted event.
func checkEvent(t *testing.T, ev Event) {
	t.Helper()
	if err := ValidateProject(ev.Project); err != nil {
		t.Fatalf("accepted project fails validation: %v", err)
	}
	for _, s := range []string{ev.Project, ev.Repo, ev.Ref, ev.Branch} {
		if strings.Contains(s, "..") || strings.ContainsFunc(s, unicode.IsControl) || !utf8.ValidString(s) {
			t.Fatalf("accepted event has unsafe field %q", s)
		}
	}
	if ev.Repo != "" {
		if err := ValidateRepo(ev.Repo); err != nil {
			t.Fatalf("accepted repository fails validation: %v", err)
		}
	}
	switch ev.Kind {
	case KindPush, KindDelete:
		if err := ValidateBranch(ev.Branch); err != nil {
			t.Fatalf("accepted branch fails validation: %v", err)
		}
		if ev.Repo == "" || ev.Ref != headsPrefix+ev.Branch {
			t.Fatalf("push event %+v lacks repository or has ref %q for branch %q", ev, ev.Ref, ev.Branch)
		}
	case KindTag:
		if ev.Branch != "" || !strings.HasPrefix(ev.Ref, tagsPrefix) || ev.Reason == "" {
			t.Fatalf("tag event %+v has a branch, a non-tag ref or no reason", ev)
		}
	case KindOther:
		if ev.Reason == "" || ev.Ref != "" || ev.Branch != "" {
			t.Fatalf("other event %+v has no reason or has a ref", ev)
		}
	default:
		t.Fatalf("unknown kind %q", ev.Kind)
	}
	ids := ev.Revisions
	if ev.After != "" {
		ids = append([]string{ev.After}, ids...)
	}
	for _, id := range ids {
		if _, err := validateRevision("revision", id); err != nil || id != strings.ToLower(id) {
			t.Fatalf("accepted revision %q is not lower-case hex: %v", id, err)
		}
	}
	if strings.ContainsFunc(ev.User, unicode.IsControl) || !utf8.ValidString(ev.User) {
		t.Fatalf("user %q has control characters or invalid UTF-8", ev.User)
	}
}

// FuzzValidateBranch checks that every accepted branch name is safe as a path and a ref.
func FuzzValidateBranch(f *testing.F) {
	for _, s := range []string{"main", "release/1.x", "機能/ü", "a..b", "a/./b", "@", "a\x00", "-x", "a.lock"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := ValidateBranch(name)
		if err != nil {
			checkParseError(t, err)
			return
		}
		if !utf8.ValidString(name) || len(name) > MaxBranchBytes || name == "" {
			t.Fatalf("accepted %q: invalid UTF-8, empty or too long", name)
		}
		if strings.Contains(name, "..") || strings.Contains(name, "//") || strings.Contains(name, "@{") ||
			strings.ContainsFunc(name, unicode.IsControl) || strings.ContainsAny(name, " ~^:?*[\\") {
			t.Fatalf("accepted %q with a forbidden sequence", name)
		}
		for part := range strings.SplitSeq(name, "/") {
			if part == "" || part[0] == '.' || strings.HasSuffix(part, ".lock") {
				t.Fatalf("accepted %q with bad component %q", name, part)
			}
		}
		if _, _, ferr := refKind("ref", headsPrefix+name); ferr != nil {
			t.Fatalf("accepted %q but refs/heads/%s fails: %v", name, name, ferr)
		}
	})
}
