package webhook

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits applied by the validators.
const (
	// MaxProjectKey bounds a project key. Backlog keys are short; 25 is a safe upper bound.
	MaxProjectKey = 25

	// MaxRepoBytes bounds a repository name.
	MaxRepoBytes = 100

	// MaxBranchBytes bounds a branch or tag name.
	MaxBranchBytes = 255
)

// Ref prefixes the pipeline understands.
const (
	headsPrefix = "refs/heads/"
	tagsPrefix  = "refs/tags/"
)

// ValidateProject reports whether key is a Backlog project key: an uppercase ASCII letter
// followed by uppercase letters, digits or underscores, at most MaxProjectKey characters.
// The error is a *FieldError for field "project".
func ValidateProject(key string) error {
	if err := validateProject("project", key); err != nil {
		return err
	}
	return nil
}

// ValidateRepo reports whether name is a repository name that is safe in keys and paths:
// ASCII letters, digits, '-', '_' and '.', not starting with a dot, at most MaxRepoBytes bytes.
// The error is a *FieldError for field "repository".
func ValidateRepo(name string) error {
	if err := validateRepo("repository", name); err != nil {
		return err
	}
	return nil
}

// ValidateBranch reports whether name is a branch name git accepts (git check-ref-format
// rules for a name below refs/heads/) that is also safe to use in keys and paths: valid
// UTF-8 without control characters, at most MaxBranchBytes bytes, not starting with '-'.
// The error is a *FieldError for field "branch".
func ValidateBranch(name string) error {
	if err := validateBranch("branch", name); err != nil {
		return err
	}
	return nil
}

func validateProject(field, key string) *FieldError {
	switch {
	case key == "":
		return missing(field)
	case len(key) > MaxProjectKey:
		return fieldErr(field, key, fmt.Sprintf("longer than %d characters", MaxProjectKey))
	case key[0] < 'A' || key[0] > 'Z':
		return fieldErr(field, key, "must start with an uppercase letter A-Z")
	}
	for _, c := range []byte(key) {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return fieldErr(field, key, "may contain only uppercase letters A-Z, digits and '_'")
		}
	}
	return nil
}

func validateRepo(field, name string) *FieldError {
	switch {
	case name == "":
		return missing(field)
	case len(name) > MaxRepoBytes:
		return fieldErr(field, name, fmt.Sprintf("longer than %d bytes", MaxRepoBytes))
	case name[0] == '.':
		return fieldErr(field, name, "must not start with '.'")
	}
	for _, c := range []byte(name) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return fieldErr(field, name, "may contain only ASCII letters, digits, '-', '_' and '.'")
		}
	}
	return nil
}

// validateBranch checks a short ref name (branch or tag) and returns the first rule it breaks.
func validateBranch(field, name string) *FieldError {
	if reason := refNameProblem(name); reason != "" {
		if name == "" {
			return missing(field)
		}
		return fieldErr(field, name, reason)
	}
	return nil
}

// refNameProblem returns why name is not an acceptable short ref name, or "" when it is.
func refNameProblem(name string) string {
	switch {
	case name == "":
		return "missing"
	case len(name) > MaxBranchBytes:
		return fmt.Sprintf("longer than %d bytes", MaxBranchBytes)
	case !utf8.ValidString(name):
		return "not valid UTF-8"
	case name == "@":
		return `must not be "@"`
	case name[0] == '-':
		return "must not start with '-'"
	case name[0] == '/' || name[len(name)-1] == '/':
		return "must not start or end with '/'"
	case name[len(name)-1] == '.':
		return "must not end with '.'"
	case strings.Contains(name, "//"):
		return `must not contain "//"`
	case strings.Contains(name, ".."):
		return `must not contain ".."`
	case strings.Contains(name, "@{"):
		return `must not contain "@{"`
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "must not contain control characters"
		}
		if strings.ContainsRune(" ~^:?*[\\", r) {
			return fmt.Sprintf("must not contain %q", r)
		}
	}
	for part := range strings.SplitSeq(name, "/") {
		if part[0] == '.' {
			return "no component may start with '.'"
		}
		if strings.HasSuffix(part, ".lock") {
			return `no component may end with ".lock"`
		}
	}
	return ""
}

// validateRevision checks a commit id: 40 (SHA-1) or 64 (SHA-256) hex digits.
// It returns the id in lower case.
func validateRevision(field, id string) (string, *FieldError) {
	if id == "" {
		return "", missing(field)
	}
	if len(id) != 40 && len(id) != 64 {
		return "", fieldErr(field, id, "must be 40 or 64 hexadecimal digits")
	}
	for _, c := range []byte(id) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return "", fieldErr(field, id, "must be 40 or 64 hexadecimal digits")
		}
	}
	return strings.ToLower(id), nil
}

// isZeroRevision reports whether id is the all-zero id git uses for "no commit".
func isZeroRevision(id string) bool {
	return strings.Trim(id, "0") == "" && id != ""
}

// refKind splits a full ref into its short name and whether it is a tag.
func refKind(field, ref string) (name string, tag bool, err *FieldError) {
	switch {
	case ref == "":
		return "", false, missing(field)
	case strings.HasPrefix(ref, headsPrefix):
		name = strings.TrimPrefix(ref, headsPrefix)
	case strings.HasPrefix(ref, tagsPrefix):
		name, tag = strings.TrimPrefix(ref, tagsPrefix), true
	default:
		return "", false, fieldErr(field, ref, `must start with "refs/heads/" or "refs/tags/"`)
	}
	if name == "" {
		return "", false, fieldErr(field, ref, "names no branch or tag")
	}
	if reason := refNameProblem(name); reason != "" {
		return "", false, fieldErr(field, ref, reason)
	}
	return name, tag, nil
}

// cleanText makes free text such as a user name safe to log: control characters are
// dropped, invalid UTF-8 is replaced and the result is cut to max bytes on a rune boundary.
func cleanText(s string, max int) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsControl(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > max {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}
