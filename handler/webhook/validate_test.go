package webhook

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateBranch(t *testing.T) {
	tests := []struct {
		name   string
		branch string
		reason string // "" when valid
	}{
		{"simple", "main", ""},
		{"slashes", "release/2026/v1.2", ""},
		{"non-ASCII", "機能/ログイン-ü", ""},
		{"dots inside", "v1.2.3", ""},
		{"at inside", "user@host", ""},
		{"lock inside", "main.locked", ""},
		{"max length", strings.Repeat("b", MaxBranchBytes), ""},
		{"empty", "", "missing"},
		{"too long", strings.Repeat("b", MaxBranchBytes+1), "longer than 255 bytes"},
		{"invalid UTF-8", "a\xffb", "not valid UTF-8"},
		{"at alone", "@", `must not be "@"`},
		{"dash first", "-f", "must not start with '-'"},
		{"leading slash", "/main", "must not start or end with '/'"},
		{"trailing slash", "main/", "must not start or end with '/'"},
		{"double slash", "a//b", `must not contain "//"`},
		{"trailing dot", "main.", "must not end with '.'"},
		{"dot dot", "a..b", `must not contain ".."`},
		{"traversal", "../../etc", `must not contain ".."`},
		{"at brace", "a@{1}", `must not contain "@{"`},
		{"NUL", "a\x00b", "must not contain control characters"},
		{"newline", "a\nb", "must not contain control characters"},
		{"DEL", "a\x7fb", "must not contain control characters"},
		{"C1 control", "a\u0085b", "must not contain control characters"},
		{"space", "a b", "must not contain ' '"},
		{"tilde", "a~1", "must not contain '~'"},
		{"caret", "a^", "must not contain '^'"},
		{"colon", "a:b", "must not contain ':'"},
		{"question", "a?", "must not contain '?'"},
		{"star", "a*", "must not contain '*'"},
		{"bracket", "a[", "must not contain '['"},
		{"backslash", `a\b`, `must not contain '\\'`},
		{"dot component", "a/.b", "no component may start with '.'"},
		{"dot first", ".a", "no component may start with '.'"},
		{"lock suffix", "a.lock/b", `no component may end with ".lock"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateBranch(tt.branch)
			checkFieldErr(t, err, "branch", tt.reason)
		})
	}
}

func TestValidateProject(t *testing.T) {
	tests := []struct {
		name, key, reason string
	}{
		{"letters", "DEMO", ""},
		{"digits underscore", "PROJ_2", ""},
		{"one letter", "A", ""},
		{"max length", strings.Repeat("A", MaxProjectKey), ""},
		{"empty", "", "missing"},
		{"too long", strings.Repeat("A", MaxProjectKey+1), "longer than 25 characters"},
		{"lower case", "Demo", "may contain only uppercase letters A-Z, digits and '_'"},
		{"digit first", "2DEMO", "must start with an uppercase letter A-Z"},
		{"underscore first", "_DEMO", "must start with an uppercase letter A-Z"},
		{"dash", "DE-MO", "may contain only uppercase letters A-Z, digits and '_'"},
		{"slash", "DEMO/X", "may contain only uppercase letters A-Z, digits and '_'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFieldErr(t, ValidateProject(tt.key), "project", tt.reason)
		})
	}
}

func TestValidateRepo(t *testing.T) {
	const charset = "may contain only ASCII letters, digits, '-', '_' and '.'"
	tests := []struct {
		name, repo, reason string
	}{
		{"plain", "api-server", ""},
		{"dots underscores", "web.site_v2", ""},
		{"max length", strings.Repeat("r", MaxRepoBytes), ""},
		{"empty", "", "missing"},
		{"too long", strings.Repeat("r", MaxRepoBytes+1), "longer than 100 bytes"},
		{"dot", ".", "must not start with '.'"},
		{"dot dot", "..", "must not start with '.'"},
		{"hidden", ".git", "must not start with '.'"},
		{"slash", "a/b", charset},
		{"backslash", `a\b`, charset},
		{"space", "a b", charset},
		{"NUL", "a\x00", charset},
		{"non-ASCII", "レポ", charset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFieldErr(t, ValidateRepo(tt.repo), "repository", tt.reason)
		})
	}
}

// checkFieldErr checks that err is nil when reason is empty, and otherwise a *FieldError
// for field with that reason that wraps ErrInvalid.
func checkFieldErr(t *testing.T, err error, field, reason string) {
	t.Helper()
	if reason == "" {
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		return
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("got error %v, want a *FieldError", err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error %v does not wrap ErrInvalid", err)
	}
	if fe.Field != field || fe.Reason != reason {
		t.Errorf("got field %q reason %q, want field %q reason %q", fe.Field, fe.Reason, field, reason)
	}
}

func TestFieldErrorQuotesAndTruncates(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"missing", "", "invalid f: r"},
		{"control", "a\nb\x00", `invalid f "a\nb\x00": r`},
		{"non-ASCII", "ü", `invalid f "\u00fc": r`},
		{"truncated", strings.Repeat("x", 100), `invalid f "` + strings.Repeat("x", maxValueBytes) + `"...: r`},
		{
			"cut on rune", strings.Repeat("x", maxValueBytes-1) + "ü",
			`invalid f "` + strings.Repeat("x", maxValueBytes-1) + `"...: r`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error = fieldErr("f", tt.value, "r")
			if tt.value == "" {
				err = &FieldError{Field: "f", Reason: "r"}
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
