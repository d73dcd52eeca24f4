// Package rules decides which pushed branches are archived and how.
//
// A configuration lists branch patterns for all repositories and may override them per
// repository, where it can also ask for one archive per top-level directory (subfolders):
//
//	{"branches": ["main", "release/*"],
//	 "repositories": {"DEMO/api-server": {"branches": ["main"], "subfolders": true}}}
//
// Patterns use path.Match syntax, where '*' and '?' do not match '/'. A pattern segment
// that is exactly "**" matches any number of branch segments, including none, so
// "release/**" matches "release/1.0/hotfix" (and "release" itself).
package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

// ErrConfig is wrapped by every error Parse and Validate return.
var ErrConfig = errors.New("invalid archive rules")

// DefaultBranches are the branches archived when the configuration names none.
var DefaultBranches = []string{"main", "master", "develop", "staging"}

// Rules selects the branches to archive. The zero value archives nothing; use Default or Parse.
type Rules struct {
	// Branches are the patterns that select branches of every repository without an override.
	Branches []string `json:"branches"`

	// Repositories maps "PROJECT/repo" to its override.
	Repositories map[string]Override `json:"repositories,omitempty"`
}

// Override changes the rules for one repository.
type Override struct {
	// Branches, when not null, replaces Rules.Branches for this repository. An empty list archives nothing.
	Branches []string `json:"branches,omitempty"`

	// Subfolders asks for one archive per top-level directory of the tree instead of one for the whole tree.
	Subfolders bool `json:"subfolders,omitempty"`
}

// Decision is what Decide says about one branch.
type Decision struct {
	Archive    bool   // the branch is archived
	Subfolders bool   // archive each top-level directory separately (only with Archive)
	Reason     string // which pattern matched, or why none did
}

// Default returns the rules used without a configuration: main, master, develop and staging.
func Default() Rules {
	return Rules{Branches: append([]string(nil), DefaultBranches...)}
}

// Parse reads a JSON configuration and validates it. Unknown fields are errors, so that a typo
// does not silently change what is archived. A missing or null "branches" means DefaultBranches.
func Parse(data []byte) (Rules, error) {
	var r Rules
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Rules{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if dec.More() {
		return Rules{}, fmt.Errorf("%w: data after the JSON object", ErrConfig)
	}
	if r.Branches == nil {
		r.Branches = append([]string(nil), DefaultBranches...)
	}
	if err := r.Validate(); err != nil {
		return Rules{}, err
	}
	return r, nil
}

// Validate checks every pattern and repository key.
func (r Rules) Validate() error {
	for i, p := range r.Branches {
		if err := validatePattern(p); err != nil {
			return fmt.Errorf("%w: branches[%d]: %v", ErrConfig, i, err)
		}
	}
	for key, o := range r.Repositories {
		if err := validateRepoKey(key); err != nil {
			return fmt.Errorf("%w: repositories %q: %v", ErrConfig, key, err)
		}
		for i, p := range o.Branches {
			if err := validatePattern(p); err != nil {
				return fmt.Errorf("%w: repositories %q: branches[%d]: %v", ErrConfig, key, i, err)
			}
		}
	}
	return nil
}

// Decide says whether branch of project/repo is archived, and how.
func (r Rules) Decide(project, repo, branch string) Decision {
	patterns, scope := r.Branches, ""
	o, ok := r.Repositories[project+"/"+repo]
	if ok && o.Branches != nil {
		patterns, scope = o.Branches, " for "+project+"/"+repo
	}

	for _, p := range patterns {
		if match(p, branch) {
			return Decision{
				Archive:    true,
				Subfolders: o.Subfolders,
				Reason:     fmt.Sprintf("branch %q matches %q%s", branch, p, scope),
			}
		}
	}
	list := "none"
	if len(patterns) > 0 {
		list = strings.Join(patterns, ", ")
	}
	return Decision{Reason: fmt.Sprintf("branch %q matches no rule%s (%s)", branch, scope, list)}
}

// validateRepoKey checks a "PROJECT/repo" key.
func validateRepoKey(key string) error {
	project, repo, ok := strings.Cut(key, "/")
	if !ok {
		return errors.New(`want "PROJECT/repository"`)
	}
	if err := webhook.ValidateProject(project); err != nil {
		return err
	}
	return webhook.ValidateRepo(repo)
}
