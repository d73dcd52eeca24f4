package rules

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDecide(t *testing.T) {
	cfg, err := os.ReadFile(filepath.Join("testdata", "rules.json"))
	if err != nil {
		t.Fatal(err)
	}
	configured, err := Parse(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                string
		rules               Rules
		project, repo, ref  string
		archive, subfolders bool
		reason              string
	}{
		{"default main", Default(), "DEMO", "web", "main", true, false, `branch "main" matches "main"`},
		{"default staging", Default(), "DEMO", "web", "staging", true, false, `branch "staging" matches "staging"`},
		{
			"default feature", Default(), "DEMO", "web", "feature/x", false, false,
			`branch "feature/x" matches no rule (main, master, develop, staging)`,
		},
		{"zero rules", Rules{}, "DEMO", "web", "main", false, false, `branch "main" matches no rule (none)`},
		{"star", configured, "DEMO", "web", "release/1.2", true, false, `branch "release/1.2" matches "release/*"`},
		{
			"star does not cross slash", configured, "DEMO", "web", "release/1/hotfix", false, false,
			`branch "release/1/hotfix" matches no rule (main, master, develop, staging, release/*, team/**/ready)`,
		},
		{
			"double star", configured, "DEMO", "web", "team/a/b/ready", true, false,
			`branch "team/a/b/ready" matches "team/**/ready"`,
		},
		{
			"double star no level", configured, "DEMO", "web", "team/ready", true, false,
			`branch "team/ready" matches "team/**/ready"`,
		},
		{
			"override replaces list", configured, "DEMO", "api-server", "main", true, true,
			`branch "main" matches "main" for DEMO/api-server`,
		},
		{
			"override excludes develop", configured, "DEMO", "api-server", "develop", false, false,
			`branch "develop" matches no rule for DEMO/api-server (main)`,
		},
		{"subfolders only", configured, "OPS", "infra", "develop", true, true, `branch "develop" matches "develop"`},
		{
			"empty override", configured, "OPS", "frozen", "main", false, false,
			`branch "main" matches no rule for OPS/frozen (none)`,
		},
		{
			"other project same repo", configured, "OTHER", "api-server", "develop", true, false,
			`branch "develop" matches "develop"`,
		},
		{
			"case sensitive", configured, "DEMO", "web", "Main", false, false,
			`branch "Main" matches no rule (main, master, develop, staging, release/*, team/**/ready)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.rules.Decide(tt.project, tt.repo, tt.ref)
			want := Decision{Archive: tt.archive, Subfolders: tt.subfolders, Reason: tt.reason}
			if got != want {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		want    Rules
		wantErr string // substring of the error; "" when valid
	}{
		{"empty object uses defaults", `{}`, Rules{Branches: DefaultBranches}, ""},
		{"null branches uses defaults", `{"branches": null}`, Rules{Branches: DefaultBranches}, ""},
		{"empty list archives nothing", `{"branches": []}`, Rules{Branches: []string{}}, ""},
		{
			"override", `{"branches": ["main"], "repositories": {"DEMO/api": {"subfolders": true}}}`,
			Rules{Branches: []string{"main"}, Repositories: map[string]Override{"DEMO/api": {Subfolders: true}}}, "",
		},
		{"not JSON", `{`, Rules{}, "unexpected EOF"},
		{"trailing data", `{} {}`, Rules{}, "data after the JSON object"},
		{"unknown field", `{"branch": ["main"]}`, Rules{}, `unknown field "branch"`},
		{"unknown override field", `{"repositories": {"DEMO/a": {"subfolder": true}}}`, Rules{}, `unknown field "subfolder"`},
		{"bad pattern", `{"branches": ["release/["]}`, Rules{}, `branches[0]: pattern "release/[": syntax error`},
		{"empty pattern", `{"branches": ["main", ""]}`, Rules{}, "branches[1]: empty pattern"},
		{"impossible literal", `{"branches": ["a..b"]}`, Rules{}, `pattern "a..b" can never match`},
		{"control chars", `{"branches": ["ma\nin"]}`, Rules{}, "control characters"},
		{"double star inside segment", `{"branches": ["a**"]}`, Rules{}, `"**" must be a whole path segment`},
		{"key without slash", `{"repositories": {"DEMO": {}}}`, Rules{}, `repositories "DEMO": want "PROJECT/repository"`},
		{"lower-case project", `{"repositories": {"demo/api": {}}}`, Rules{}, "must start with an uppercase letter"},
		{"traversal repo", `{"repositories": {"DEMO/../x": {}}}`, Rules{}, `invalid repository "../x"`},
		{
			"bad override pattern", `{"repositories": {"DEMO/api": {"branches": ["["]}}}`,
			Rules{}, `repositories "DEMO/api": branches[0]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.config))
			if tt.wantErr != "" {
				if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want ErrConfig containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"main", "main", true},
		{"main", "main2", false},
		{"release/*", "release/1.0", true},
		{"release/*", "release/", true},
		{"release/*", "release/a/b", false},
		{"release/**", "release/a/b", true},
		{"**", "anything/at/all", true},
		{"**/hotfix", "a/b/hotfix", true},
		{"**/hotfix", "hotfix", true},
		{"**/hotfix", "a/hotfix2", false},
		{"release/**", "release", true},
		{"release/**", "releases/a", false},
		{"a/**/b/**/c", "a/x/b/y/z/c", true},
		{"a/**/b/**/c", "a/x/c", false},
		{"feat-?", "feat-ü", true},
		{"feat-?", "feat-/", false},
		{"[a-c]*", "b/x", false},
		{"[a-c]*/x", "b/x", true},
		{"[", "[", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.name, func(t *testing.T) {
			if got := match(tt.pattern, tt.name); got != tt.want {
				t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
			}
		})
	}
}

func TestDefaultIsACopy(t *testing.T) {
	d := Default()
	d.Branches[0] = "changed"
	if DefaultBranches[0] != "main" || Default().Branches[0] != "main" {
		t.Fatal("Default shares its slice with DefaultBranches")
	}
}
