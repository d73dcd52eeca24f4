package rules

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

// doubleStar is the pattern segment that matches any number of branch segments.
const doubleStar = "**"

// validatePattern checks that p is a usable branch pattern.
func validatePattern(p string) error {
	switch {
	case p == "":
		return errors.New("empty pattern")
	case len(p) > webhook.MaxBranchBytes:
		return fmt.Errorf("pattern longer than %d bytes", webhook.MaxBranchBytes)
	case !utf8.ValidString(p):
		return errors.New("pattern is not valid UTF-8")
	case strings.ContainsFunc(p, unicode.IsControl):
		return fmt.Errorf("pattern %q has control characters", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == doubleStar {
			continue
		}
		if strings.Contains(seg, doubleStar) {
			return fmt.Errorf("pattern %q: \"**\" must be a whole path segment, as in \"release/**\"", p)
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("pattern %q: %v", p, err)
		}
	}
	if !strings.ContainsAny(p, `*?[\`) {
		if err := webhook.ValidateBranch(p); err != nil {
			return fmt.Errorf("pattern %q can never match: %v", p, err)
		}
	}
	return nil
}

// match reports whether branch name matches pattern p, segment by segment: each segment
// is a path.Match pattern for one branch segment, and a "**" segment matches any number
// of branch segments, including none. A malformed pattern matches nothing.
func match(p, name string) bool {
	pat, segs := strings.Split(p, "/"), strings.Split(name, "/")

	// ok[j] says whether the pattern segments seen so far match segs[:j].
	ok := make([]bool, len(segs)+1)
	ok[0] = true
	for _, ps := range pat {
		next := make([]bool, len(segs)+1)
		for j := range ok {
			switch {
			case ps == doubleStar:
				next[j] = ok[j] || (j > 0 && next[j-1])
			case j > 0 && ok[j-1]:
				m, err := path.Match(ps, segs[j-1])
				next[j] = m && err == nil
			}
		}
		ok = next
	}
	return ok[len(segs)]
}
