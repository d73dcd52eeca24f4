package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stackEnv is what the cloud end-to-end test needs from the environment.
type stackEnv struct {
	GitServer  string // E2E_BACKLOG_GIT_SERVER, e.g. demo@demo.git.backlog.com
	KnownHosts string // contents of E2E_KNOWN_HOSTS_FILE
	SSHKey     string // contents of E2E_SSH_KEY_FILE (unencrypted private key with read access)
	Project    string // from E2E_BACKLOG_REPO "PROJECT/repo"
	Repo       string
	Branch     string // E2E_BACKLOG_BRANCH, default main
	Region     string // AWS_REGION
	Passphrase string // PULUMI_CONFIG_PASSPHRASE, or a random one for the throwaway backend
}

// stackEnvOrSkip reads the environment and skips the test, naming every missing setting, when the
// pulumi CLI, AWS credentials or a reachable Backlog Git server are not available.
func stackEnvOrSkip(t *testing.T) stackEnv {
	t.Helper()
	var missing []string
	need := func(name, what string) string {
		v := strings.TrimSpace(os.Getenv(name))
		if v == "" {
			missing = append(missing, name+" ("+what+")")
		}
		return v
	}
	readFile := func(name, what string) string {
		path := need(name, what)
		if path == "" {
			return ""
		}
		b, err := os.ReadFile(filepath.Clean(path))
		if err != nil {
			missing = append(missing, name+" (cannot read "+path+")")
		}
		return string(b)
	}

	if _, err := exec.LookPath("pulumi"); err != nil {
		missing = append(missing, "the pulumi CLI on PATH")
	}
	e := stackEnv{
		GitServer:  need("E2E_BACKLOG_GIT_SERVER", "USER@HOST of the Backlog Git server"),
		KnownHosts: readFile("E2E_KNOWN_HOSTS_FILE", "known_hosts file with the Git server's host key"),
		SSHKey:     readFile("E2E_SSH_KEY_FILE", "unencrypted SSH private key that may clone the repository"),
		Region:     need("AWS_REGION", "region to deploy the throwaway stack in"),
		Branch:     os.Getenv("E2E_BACKLOG_BRANCH"),
		Passphrase: os.Getenv("PULUMI_CONFIG_PASSPHRASE"),
	}
	repo := need("E2E_BACKLOG_REPO", "PROJECT/repo to push-notify and archive")
	if p, r, ok := strings.Cut(repo, "/"); ok {
		e.Project, e.Repo = p, r
	} else if repo != "" {
		missing = append(missing, "E2E_BACKLOG_REPO (want PROJECT/repo)")
	}
	if e.Branch == "" {
		e.Branch = "main"
	}
	if os.Getenv("AWS_PROFILE") == "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" &&
		os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE") == "" {
		missing = append(missing, "AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
	}
	if e.Passphrase == "" {
		e.Passphrase = stackRandomHex(t, 16)
	}

	if len(missing) == 0 {
		host := e.GitServer[strings.LastIndex(e.GitServer, "@")+1:]
		if _, _, err := net.SplitHostPort(host); err != nil {
			host = net.JoinHostPort(host, "22")
		}
		conn, err := net.DialTimeout("tcp", host, 10*time.Second)
		if err != nil {
			missing = append(missing, "a reachable Git server at "+host+" (E2E_BACKLOG_GIT_SERVER)")
		} else {
			_ = conn.Close()
		}
	}
	if len(missing) > 0 {
		t.Skip("cloud end-to-end test skipped; set: " + strings.Join(missing, "; ") +
			". Optional: E2E_BACKLOG_BRANCH (default main), PULUMI_CONFIG_PASSPHRASE (default random).")
	}
	return e
}

func stackRandomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
