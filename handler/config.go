package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/backlog-webhook/backlog-webhook/handler/filekeys"
	"github.com/backlog-webhook/backlog-webhook/handler/localdb"
	"github.com/backlog-webhook/backlog-webhook/handler/localstore"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/rules"
)

// Environment variables of the local mode. Flags of the same meaning win over them.
const (
	envData       = "BACKLOG_WEBHOOK_DATA"      // data directory
	envListen     = "BACKLOG_WEBHOOK_LISTEN"    // serve: listen address
	envToken      = "BACKLOG_WEBHOOK_TOKEN"     // serve: secret path segment
	envGitServer  = "BACKLOG_GIT_SERVER_URL"    // Backlog Git server, as in the Lambda
	envSSHKey     = "BACKLOG_SSH_KEY_FILE"      // private key file
	envKnownHosts = "BACKLOG_KNOWN_HOSTS_FILE"  // known_hosts file
	envRules      = "BRANCH_RULES"              // branch rules JSON, as in the Lambda
	envRulesFile  = "BACKLOG_BRANCH_RULES_FILE" // branch rules JSON file
)

// localConfig is the validated configuration of the local mode.
type localConfig struct {
	Data       string
	GitServer  string
	SSHKey     string
	KnownHosts string
	Rules      rules.Rules
	rulesFile  string
	rulesJSON  string
}

// flags registers the flags shared by the commands that run the pipeline.
func (c *localConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Data, "data", envOr(envData, ".data"),
		"data directory for archives, ledger and queue (env "+envData+")")
	fs.StringVar(&c.GitServer, "git-server", os.Getenv(envGitServer),
		"Backlog Git server, e.g. SPACE@SPACE.git.backlog.com (env "+envGitServer+")")
	fs.StringVar(&c.SSHKey, "ssh-key", os.Getenv(envSSHKey), "SSH private key file (env "+envSSHKey+")")
	fs.StringVar(&c.KnownHosts, "known-hosts", os.Getenv(envKnownHosts),
		"known_hosts file for the Git server (env "+envKnownHosts+")")
	fs.StringVar(&c.rulesFile, "rules", os.Getenv(envRulesFile),
		"branch rules JSON file (env "+envRulesFile+", or the JSON itself in "+envRules+")")
	c.rulesJSON = os.Getenv(envRules)
}

// validate checks the configuration; needGit says whether a Git server and keys are required.
func (c *localConfig) validate(needGit bool) error {
	var errs []error
	if c.Data == "" {
		errs = append(errs, errors.New("--data must not be empty"))
	}
	c.Rules = rules.Default()
	raw, src := []byte(c.rulesJSON), envRules
	if c.rulesFile != "" {
		b, err := os.ReadFile(c.rulesFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("--rules: %w", err))
		}
		raw, src = b, c.rulesFile
	}
	if len(strings.TrimSpace(string(raw))) > 0 {
		r, err := rules.Parse(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("branch rules from %s: %w", src, err))
		}
		c.Rules = r
	}
	if needGit {
		if c.SSHKey == "" {
			errs = append(errs, fmt.Errorf("set --ssh-key or %s to the SSH private key file", envSSHKey))
		}
		if c.KnownHosts == "" {
			errs = append(errs, fmt.Errorf("set --known-hosts or %s to a known_hosts file", envKnownHosts))
		}
	}
	return errors.Join(errs...)
}

// local holds the opened local adapters.
type local struct {
	store *localstore.Store
	db    *localdb.DB
	keys  *filekeys.Keys
}

// open opens the data directory: the versioned store in data/archives and the
// ledger and queue in data/backlog-webhook.db.
func (c *localConfig) open() (*local, error) {
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	store, err := localstore.Open(filepath.Join(c.Data, "archives"))
	if err != nil {
		return nil, err
	}
	db, err := localdb.Open(filepath.Join(c.Data, "backlog-webhook.db"))
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	return &local{store: store, db: db, keys: filekeys.New(c.SSHKey, c.KnownHosts)}, nil
}

// Close closes the ledger database and the store.
func (l *local) Close() error { return errors.Join(l.db.Close(), l.store.Close()) }

// pipeline builds the core over the local adapters.
func (l *local) pipeline(c *localConfig, log *slog.Logger) *pipeline.Pipeline {
	return pipeline.New(pipeline.Config{GitServer: c.GitServer, Rules: c.Rules}, l.store, l.db, l.keys, log)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// newFlagSet returns a flag set whose --help prints a usage line and the flags to stdout.
func newFlagSet(name, synopsis string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: handler %s\n", synopsis)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprint(out, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// textLogger is the local mode's human-readable logger.
func textLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
