package clone

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// RepoURL returns the SSH clone URL of repository repo in project on server, the
// Git server value users configure:
//
//	SPACE@SPACE.git.backlog.com  →  SPACE@SPACE.git.backlog.com:/PROJECT/repo.git
//	git@127.0.0.1:2222           →  ssh://git@127.0.0.1:2222/PROJECT/repo.git
//	ssh://git@host:2222          →  ssh://git@host:2222/PROJECT/repo.git
//
// The server must name a user.
func RepoURL(server, project, repo string) (string, error) {
	if err := checkName("project", project); err != nil {
		return "", err
	}
	if err := checkName("repository", repo); err != nil {
		return "", err
	}
	repoPath := "/" + project + "/" + strings.TrimSuffix(repo, ".git") + ".git"

	server = strings.TrimSpace(server)
	if strings.HasPrefix(server, "ssh://") {
		u, err := url.Parse(server)
		if err != nil {
			return "", fmt.Errorf("git server %q: %w", server, err)
		}
		if u.User == nil || u.User.Username() == "" || u.Host == "" {
			return "", fmt.Errorf("git server %q: want ssh://user@host[:port]", server)
		}
		if _, set := u.User.Password(); set || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
			return "", fmt.Errorf("git server %q: want ssh://user@host[:port] without password or path", server)
		}
		return "ssh://" + u.User.Username() + "@" + u.Host + repoPath, nil
	}

	user, hostPort, ok := strings.Cut(server, "@")
	if !ok || user == "" || hostPort == "" || strings.ContainsAny(server, "/ ") {
		return "", fmt.Errorf("git server %q: want user@host or user@host:port", server)
	}
	if host, port, err := net.SplitHostPort(hostPort); err == nil {
		if host == "" || port == "" {
			return "", fmt.Errorf("git server %q: want user@host:port", server)
		}
		return "ssh://" + user + "@" + net.JoinHostPort(host, port) + repoPath, nil
	}
	if strings.Contains(hostPort, ":") {
		return "", fmt.Errorf("git server %q: want user@host or user@host:port", server)
	}
	return user + "@" + hostPort + ":" + repoPath, nil
}

func checkName(what, name string) error {
	if !namePattern.MatchString(name) || strings.Contains(name, "..") {
		return fmt.Errorf("%s name %q: %w", what, name, errBadName)
	}
	return nil
}

var errBadName = errors.New("want letters, digits, '.', '_' or '-'")
