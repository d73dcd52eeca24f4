// Package layout maps archive targets to object keys, the same in S3 and in the local data directory.
//
// A whole-tree archive of a branch is stored at
//
//	<PROJECT>/<repo>/<branch>.zip
//
// and the archive of one top-level directory (subfolder) of the tree at
//
//	<PROJECT>/<repo>/<branch>/<subfolder>.zip
//
// The branch and the subfolder are each one key segment. Inside a segment '%' is written
// "%25", '/' "%2F", and control characters and bytes that are not UTF-8 as "%XX"; a branch
// segment that would start with '.' starts with "%2E" instead. Branch names without '/' and
// '%' therefore keep the layout of the original system, while branch "a/b" ("P/r/a%2Fb.zip")
// no longer collides with subfolder "b" of branch "a" ("P/r/a/b.zip").
package layout

import (
	"errors"
	"fmt"
	"strings"

	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

// ErrKey is wrapped by Parse errors for keys that this layout does not produce.
var ErrKey = errors.New("not an archive key")

// ext is the extension of every archive key.
const ext = ".zip"

// Target is what one archive holds: a branch of a repository, or one subfolder of it.
type Target struct {
	Project   string
	Repo      string
	Branch    string
	Subfolder string // empty for a whole-tree archive
}

// Key returns the key of t's archive.
func (t Target) Key() string {
	if t.Subfolder == "" {
		return Key(t.Project, t.Repo, t.Branch)
	}
	return SubfolderKey(t.Project, t.Repo, t.Branch, t.Subfolder)
}

// Prefix returns the prefix shared by every key of a repository, ending in '/'.
func Prefix(project, repo string) string {
	return project + "/" + repo + "/"
}

// Key returns the key of the whole-tree archive of branch. project and repo must pass
// webhook.ValidateProject and webhook.ValidateRepo and branch must not be empty; for such
// input the key is unique and Parse returns the input.
func Key(project, repo, branch string) string {
	return Prefix(project, repo) + escape(branch, true) + ext
}

// SubfolderKey returns the key of the archive of the top-level directory sub of branch.
// The input rules of Key apply, and sub must not be empty.
func SubfolderKey(project, repo, branch, sub string) string {
	return Prefix(project, repo) + escape(branch, true) + "/" + escape(sub, false) + ext
}

// Parse reads a key written by Key or SubfolderKey back into its target.
// Any other key, including one that spells the same target differently, is an error wrapping ErrKey.
func Parse(key string) (Target, error) {
	t, err := parse(key)
	if err != nil {
		return Target{}, fmt.Errorf("%w: %q: %v", ErrKey, key, err)
	}
	return t, nil
}

func parse(key string) (Target, error) {
	segs := strings.Split(key, "/")
	if len(segs) != 3 && len(segs) != 4 {
		return Target{}, fmt.Errorf("has %d segments, want 3 or 4", len(segs))
	}
	if err := webhook.ValidateProject(segs[0]); err != nil {
		return Target{}, err
	}
	if err := webhook.ValidateRepo(segs[1]); err != nil {
		return Target{}, err
	}
	last := len(segs) - 1
	if !strings.HasSuffix(segs[last], ext) {
		return Target{}, fmt.Errorf("does not end in %q", ext)
	}
	segs[last] = strings.TrimSuffix(segs[last], ext)

	t := Target{Project: segs[0], Repo: segs[1]}
	var err error
	if t.Branch, err = unescape(segs[2]); err != nil {
		return Target{}, fmt.Errorf("branch: %w", err)
	}
	if len(segs) == 4 {
		if t.Subfolder, err = unescape(segs[3]); err != nil {
			return Target{}, fmt.Errorf("subfolder: %w", err)
		}
		if t.Subfolder == "" {
			return Target{}, errors.New("empty subfolder")
		}
	}
	if t.Branch == "" {
		return Target{}, errors.New("empty branch")
	}
	if t.Key() != key {
		return Target{}, errors.New("not in canonical form")
	}
	return t, nil
}
