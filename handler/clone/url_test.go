package clone

import "testing"

func TestRepoURL(t *testing.T) {
	tests := []struct {
		name, server, project, repo string
		want                        string
		wantErr                     bool
	}{
		{"backlog", "SPACE@SPACE.git.backlog.com", "DEMO", "api", "SPACE@SPACE.git.backlog.com:/DEMO/api.git", false},
		{"backlog jp", "sp@sp.git.backlog.jp", "DEMO", "web-app", "sp@sp.git.backlog.jp:/DEMO/web-app.git", false},
		{"repo with .git", "sp@sp.git.backlog.jp", "DEMO", "api.git", "sp@sp.git.backlog.jp:/DEMO/api.git", false},
		{"host and port", "git@127.0.0.1:2222", "DEMO", "api", "ssh://git@127.0.0.1:2222/DEMO/api.git", false},
		{"ipv6 and port", "git@[::1]:2222", "DEMO", "api", "ssh://git@[::1]:2222/DEMO/api.git", false},
		{"ssh url", "ssh://git@example.com", "DEMO", "api", "ssh://git@example.com/DEMO/api.git", false},
		{"ssh url with port", "ssh://git@example.com:2222/", "P_1", "r.x",
			"ssh://git@example.com:2222/P_1/r.x.git", false},
		{"surrounding space", " git@h ", "DEMO", "api", "git@h:/DEMO/api.git", false},
		{"no user", "example.com", "DEMO", "api", "", true},
		{"ssh url without user", "ssh://example.com", "DEMO", "api", "", true},
		{"ssh url with path", "ssh://git@example.com/x", "DEMO", "api", "", true},
		{"ssh url with password", "ssh://git:pw@example.com", "DEMO", "api", "", true},
		{"empty port", "git@host:", "DEMO", "api", "", true},
		{"path in server", "git@host:/x", "DEMO", "api", "", true},
		{"project escape", "git@host", "..", "api", "", true},
		{"repo escape", "git@host", "DEMO", "../x", "", true},
		{"empty repo", "git@host", "DEMO", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RepoURL(tt.server, tt.project, tt.repo)
			if (err != nil) != tt.wantErr {
				t.Fatalf("RepoURL() error = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("RepoURL() = %q, want %q", got, tt.want)
			}
		})
	}
}
