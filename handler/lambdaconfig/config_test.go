package lambdaconfig

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/rules"
)

// env returns a getenv over the required variables, with changes applied
// (an empty value unsets a variable).
func env(changes map[string]string) func(string) string {
	vars := map[string]string{
		EnvTable:     "backlog-webhook-ledger",
		EnvBucket:    "backlog-webhook-archives",
		EnvGitServer: "demo@demo.git.backlog.com",
		EnvSSHSecret: "backlog-webhook/ssh",
	}
	for k, v := range changes {
		vars[k] = v
	}

	return func(name string) string { return vars[name] }
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string]string
		check   func(t *testing.T, c Config)
	}{
		{
			name: "required only gets defaults",
			check: func(t *testing.T, c Config) {
				t.Helper()
				want := Config{
					Table: "backlog-webhook-ledger", Bucket: "backlog-webhook-archives",
					GitServer: "demo@demo.git.backlog.com", SSHSecretName: "backlog-webhook/ssh",
					Rules: rules.Default(), RetentionDays: DefaultRetentionDays, BatchReserve: DefaultBatchReserve,
				}
				if !reflect.DeepEqual(c, want) {
					t.Errorf("config = %+v, want %+v", c, want)
				}
			},
		},
		{
			name:    "optional values",
			changes: map[string]string{EnvRetentionDays: "30", EnvBatchReserve: "2500ms"},
			check: func(t *testing.T, c Config) {
				t.Helper()
				if c.RetentionDays != 30 || c.BatchReserve != 2500*time.Millisecond {
					t.Errorf("retention %d reserve %v, want 30 and 2.5s", c.RetentionDays, c.BatchReserve)
				}
			},
		},
		{
			name:    "surrounding space is trimmed",
			changes: map[string]string{EnvBucket: " archives \n"},
			check: func(t *testing.T, c Config) {
				t.Helper()
				if c.Bucket != "archives" {
					t.Errorf("bucket = %q, want archives", c.Bucket)
				}
			},
		},
		{
			name:    "loopback git server with a port",
			changes: map[string]string{EnvGitServer: "git@127.0.0.1:2222"},
			check: func(t *testing.T, c Config) {
				t.Helper()
				if c.GitServer != "git@127.0.0.1:2222" {
					t.Errorf("git server = %q", c.GitServer)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(env(tt.changes))
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestFromEnvBranchRules(t *testing.T) {
	raw := `{"branches":["main","release"]}`
	want, err := rules.Parse([]byte(raw))
	if err != nil {
		t.Fatalf("rules.Parse(%s): %v", raw, err)
	}

	c, err := FromEnv(env(map[string]string{EnvBranchRules: raw}))
	if err != nil {
		t.Fatalf("FromEnv: %v", err)
	}
	if !reflect.DeepEqual(c.Rules, want) {
		t.Errorf("rules = %+v, want %+v", c.Rules, want)
	}
	if reflect.DeepEqual(c.Rules, rules.Default()) {
		t.Errorf("rules equal the defaults; BRANCH_RULES was ignored")
	}
}

func TestFromEnvErrors(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string]string
		wantIs  error
		// every name must appear in the error; absent ones must not
		names  []string
		absent []string
	}{
		{
			name:    "every required variable missing",
			changes: map[string]string{EnvTable: "", EnvBucket: "", EnvGitServer: "", EnvSSHSecret: " "},
			wantIs:  ErrMissing,
			names:   []string{EnvTable, EnvBucket, EnvGitServer, EnvSSHSecret},
			absent:  []string{EnvBranchRules, EnvRetentionDays, EnvBatchReserve},
		},
		{
			name:    "one missing",
			changes: map[string]string{EnvBucket: ""},
			wantIs:  ErrMissing,
			names:   []string{EnvBucket},
			absent:  []string{EnvTable, EnvGitServer, EnvSSHSecret},
		},
		{
			name: "every optional variable invalid",
			changes: map[string]string{
				EnvBranchRules: "{not json", EnvRetentionDays: "two weeks", EnvBatchReserve: "10",
			},
			wantIs: ErrInvalid,
			names:  []string{EnvBranchRules, EnvRetentionDays, EnvBatchReserve},
			absent: []string{EnvTable, EnvBucket},
		},
		{
			name:    "retention below one day",
			changes: map[string]string{EnvRetentionDays: "0"},
			wantIs:  ErrInvalid,
			names:   []string{EnvRetentionDays},
		},
		{
			name:    "reserve beyond the longest timeout",
			changes: map[string]string{EnvBatchReserve: "20m"},
			wantIs:  ErrInvalid,
			names:   []string{EnvBatchReserve},
		},
		{
			name:    "negative reserve",
			changes: map[string]string{EnvBatchReserve: "-1s"},
			wantIs:  ErrInvalid,
			names:   []string{EnvBatchReserve},
		},
		{
			name:    "git server given as a URL",
			changes: map[string]string{EnvGitServer: "ssh://demo@demo.git.backlog.com/DEMO/api.git"},
			wantIs:  ErrInvalid,
			names:   []string{EnvGitServer},
		},
		{
			name:    "missing and invalid together",
			changes: map[string]string{EnvTable: "", EnvRetentionDays: "-3"},
			wantIs:  ErrMissing,
			names:   []string{EnvTable, EnvRetentionDays},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(env(tt.changes))
			if err == nil {
				t.Fatalf("FromEnv = %+v, want an error", c)
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q does not wrap %v", err, tt.wantIs)
			}
			for _, n := range tt.names {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("error %q does not name %s", err, n)
				}
			}
			for _, n := range tt.absent {
				if strings.Contains(err.Error(), n) {
					t.Errorf("error %q names %s, which is valid", err, n)
				}
			}
		})
	}
}
