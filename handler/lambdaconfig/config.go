// Package lambdaconfig reads and validates the Lambda function's environment once,
// at start, so a misconfigured function fails its first invocation with one error
// that names every missing or invalid variable, instead of failing message by message.
//
// The variable names are those of the original system, so a deployment can move
// over unchanged. The AWS SDK reads AWS_REGION and AWS_ENDPOINT_URL_* itself.
package lambdaconfig

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/rules"
)

// Names of the environment variables the function reads.
const (
	EnvTable         = "DYNAMODB_TABLE_NAME"            // ledger table, required
	EnvBucket        = "S3_BUCKET_NAME"                 // versioned archive bucket, required
	EnvGitServer     = "BACKLOG_GIT_SERVER_URL"         // e.g. SPACE@SPACE.git.backlog.com, required
	EnvSSHSecret     = "SECRET_MANAGER_SSH_SECRET_NAME" // secret holding the SSH key, required
	EnvBranchRules   = "BRANCH_RULES"                   // branch rules JSON, optional
	EnvRetentionDays = "NONCURRENT_RETENTION_DAYS"      // days old versions are kept, optional
	EnvBatchReserve  = "BATCH_RESERVE"                  // time kept before the deadline, optional
)

// Defaults of the optional variables.
const (
	DefaultRetentionDays = 14
	DefaultBatchReserve  = 10 * time.Second
)

// maxBatchReserve is the longest reserve that makes sense: Lambda's maximum timeout.
const maxBatchReserve = 15 * time.Minute

// Conditions FromEnv reports, one wrapped error per variable.
var (
	// ErrMissing means a required variable is unset or empty.
	ErrMissing = errors.New("required but not set")

	// ErrInvalid means a variable is set to a value that cannot be used.
	ErrInvalid = errors.New("invalid")
)

// Config is the validated configuration of the Lambda function.
type Config struct {
	Table         string        // DynamoDB ledger table name
	Bucket        string        // S3 bucket for archives
	GitServer     string        // Backlog Git server, e.g. "SPACE@SPACE.git.backlog.com"
	SSHSecretName string        // Secrets Manager secret with id_ed25519 (and known_hosts)
	Rules         rules.Rules   // branch rules; rules.Default() when BRANCH_RULES is unset
	RetentionDays int           // days noncurrent archive versions are kept
	BatchReserve  time.Duration // time left unused before the Lambda deadline
}

// FromEnv reads the configuration through getenv (os.Getenv in production).
// The error joins one error per missing or invalid variable, each naming it and
// wrapping ErrMissing or ErrInvalid.
func FromEnv(getenv func(string) string) (Config, error) {
	var errs []error
	required := func(name string) string {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			errs = append(errs, fmt.Errorf("%s: %w", name, ErrMissing))
		}
		return v
	}

	c := Config{
		Table:         required(EnvTable),
		Bucket:        required(EnvBucket),
		GitServer:     required(EnvGitServer),
		SSHSecretName: required(EnvSSHSecret),
		Rules:         rules.Default(),
		RetentionDays: DefaultRetentionDays,
		BatchReserve:  DefaultBatchReserve,
	}

	if strings.ContainsAny(c.GitServer, " \t/") {
		errs = append(errs, fmt.Errorf("%s: %w: want USER@HOST such as SPACE@SPACE.git.backlog.com",
			EnvGitServer, ErrInvalid))
	}

	if raw := strings.TrimSpace(getenv(EnvBranchRules)); raw != "" {
		r, err := rules.Parse([]byte(raw))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w: %w", EnvBranchRules, ErrInvalid, err))
		}
		c.Rules = r
	}

	if raw := strings.TrimSpace(getenv(EnvRetentionDays)); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("%s: %w: %q is not a whole number of days of at least 1",
				EnvRetentionDays, ErrInvalid, raw))
		}
		c.RetentionDays = n
	}

	if raw := strings.TrimSpace(getenv(EnvBatchReserve)); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d <= 0 || d >= maxBatchReserve {
			errs = append(errs, fmt.Errorf("%s: %w: %q is not a duration between 0s and %v, such as 10s",
				EnvBatchReserve, ErrInvalid, raw, maxBatchReserve))
		}
		c.BatchReserve = d
	}

	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("lambda configuration: %w", err)
	}

	return c, nil
}
