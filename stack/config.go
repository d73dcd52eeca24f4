package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/backlog-webhook/backlog-webhook/handler/rules"
)

// Config is the validated stack configuration. Every field has been checked before any resource is created.
type Config struct {
	GitServer     string      // Backlog SSH server, e.g. "space@space.git.backlog.com"
	KnownHosts    string      // known_hosts lines for the Git server
	SSHPrivateKey string      // unencrypted private key; empty when the secret is filled by hand
	SSHPublicKey  string      // authorized_keys form of SSHPrivateKey's public half
	WebhookToken  string      // secret path segment of the webhook URL
	BranchRules   rules.Rules // which branches are archived, validated by the handler's own parser
	RetentionDays int         // days a noncurrent archive version is kept
	AllowedIPs    []string    // CIDR allowlist for the webhook; empty allows any source
	AlarmEmail    string      // where the dead-letter alarm is mailed; empty for no mail
	MemoryMB      int         // Lambda memory
	TimeoutSec    int         // Lambda timeout
	StorageMB     int         // Lambda ephemeral storage
	BatchSize     int         // SQS messages per Lambda invocation
	MaxReceives   int         // deliveries before a message moves to the dead-letter queue
	RateLimit     float64     // API steady-state requests per second
	BurstLimit    int         // API burst
	LogRetention  int         // days CloudWatch keeps the function and access logs
	ForceDestroy  bool        // let `pulumi destroy` delete a non-empty bucket and the secret at once
	ManageAccount bool        // set the region's API Gateway CloudWatch role (an account-wide setting)
}

// logRetentionDays are the values CloudWatch Logs accepts for retention.
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
	2557, 2922, 3288, 3653}

var (
	gitServerPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+(:[0-9]{1,5})?$`)
	tokenPattern     = regexp.MustCompile(`^[A-Za-z0-9_-]{32,128}$`)
)

// configProblem is one invalid or missing key, with the command that fixes it.
type configProblem struct {
	Key     string
	Problem string
	Fix     string
}

func (p *configProblem) Error() string {
	return fmt.Sprintf("config %s: %s; set it with: %s", p.Key, p.Problem, p.Fix)
}

// configReader reads namespaced keys and collects every problem, so one run reports them all.
type configReader struct {
	ctx      *pulumi.Context
	problems []error
}

func (r *configReader) key(k string) string { return r.ctx.Project() + ":" + k }

func (r *configReader) fail(k, problem, fix string) {
	r.problems = append(r.problems, &configProblem{Key: r.key(k), Problem: problem, Fix: fix})
}

func (r *configReader) str(k string) (string, bool) {
	v, ok := r.ctx.GetConfig(r.key(k))
	return strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
}

// secret reads a key that must have been set with --secret.
func (r *configReader) secret(k, fix string) string {
	v, ok := r.str(k)
	if ok && !r.ctx.IsConfigSecret(r.key(k)) {
		r.fail(k, "is stored in plain text", fix)
		return ""
	}
	return v
}

func (r *configReader) intIn(k string, def, lo, hi int) int {
	v, ok := r.str(k)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(k, fmt.Sprintf("%q is not a whole number from %d to %d", v, lo, hi),
			fmt.Sprintf("pulumi config set %s %d", k, def))
		return def
	}
	return n
}

func (r *configReader) boolean(k string) bool {
	v, ok := r.str(k)
	if !ok {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(k, fmt.Sprintf("%q is not true or false", v), fmt.Sprintf("pulumi config set %s true", k))
	}
	return b
}

// loadConfig reads and validates the whole configuration. The error lists every problem found.
func loadConfig(ctx *pulumi.Context) (Config, error) {
	r := &configReader{ctx: ctx}
	var c Config

	c.GitServer, _ = r.str("gitServer")
	switch {
	case c.GitServer == "":
		r.fail("gitServer", "is required", "pulumi config set gitServer SPACE@SPACE.git.backlog.com")
	case !gitServerPattern.MatchString(c.GitServer):
		r.fail("gitServer", fmt.Sprintf("%q is not of the form USER@HOST", c.GitServer),
			"pulumi config set gitServer SPACE@SPACE.git.backlog.com")
	}

	const khFix = "ssh-keyscan -t ed25519 SPACE.git.backlog.com | pulumi config set knownHosts"
	c.KnownHosts, _ = r.str("knownHosts")
	if c.KnownHosts == "" {
		r.fail("knownHosts", "is required", khFix)
	} else if gitServerPattern.MatchString(c.GitServer) {
		if err := checkKnownHosts(c.KnownHosts, c.GitServer); err != nil {
			r.fail("knownHosts", err.Error(), khFix)
		}
	}

	const keyFix = "pulumi config set --secret sshPrivateKey < id_ed25519"
	c.SSHPrivateKey = r.secret("sshPrivateKey", keyFix)
	if c.SSHPrivateKey != "" {
		pub, err := publicKeyOf(c.SSHPrivateKey)
		if err != nil {
			r.fail("sshPrivateKey", err.Error(), keyFix)
		}
		c.SSHPublicKey = pub
		c.SSHPrivateKey += "\n"
	}

	const tokenFix = "pulumi config set --secret webhookToken \"$(openssl rand -hex 32)\""
	c.WebhookToken = r.secret("webhookToken", tokenFix)
	if _, set := r.str("webhookToken"); !set {
		r.fail("webhookToken", "is required", tokenFix)
	} else if c.WebhookToken != "" && !tokenPattern.MatchString(c.WebhookToken) {
		r.fail("webhookToken", "must be 32 to 128 characters of A-Z, a-z, 0-9, '-' or '_'", tokenFix)
	}

	c.BranchRules = r.branchRules()
	c.RetentionDays = r.intIn("retentionDays", 14, 1, 3650)
	c.AllowedIPs = r.allowedIPs()

	c.AlarmEmail, _ = r.str("alarmEmail")
	if a, err := mail.ParseAddress(c.AlarmEmail); c.AlarmEmail != "" && (err != nil || a.Address != c.AlarmEmail) {
		r.fail("alarmEmail", fmt.Sprintf("%q is not a plain e-mail address", c.AlarmEmail),
			"pulumi config set alarmEmail ops@example.com")
	}

	c.MemoryMB = r.intIn("lambdaMemoryMb", 1024, 128, 10240)
	c.TimeoutSec = r.intIn("lambdaTimeoutSeconds", 300, 10, 900)
	c.StorageMB = r.intIn("lambdaEphemeralStorageMb", 2048, 512, 10240)
	c.BatchSize = r.intIn("batchSize", 5, 1, 10)
	c.MaxReceives = r.intIn("maxReceives", 5, 1, 1000)
	c.BurstLimit = r.intIn("throttleBurstLimit", 20, 1, 5000)
	c.RateLimit = float64(r.intIn("throttleRateLimit", 10, 1, 10000))
	c.LogRetention = r.intIn("logRetentionDays", 30, 1, 3653)
	if !slices.Contains(logRetentionDays, c.LogRetention) {
		r.fail("logRetentionDays", fmt.Sprintf("%d is not a CloudWatch retention (1, 3, 5, 7, 14, 30, 60, 90, …)",
			c.LogRetention), "pulumi config set logRetentionDays 30")
	}
	c.ForceDestroy = r.boolean("forceDestroy")
	c.ManageAccount = r.boolean("manageApiGatewayAccount")

	if len(r.problems) > 0 {
		return Config{}, fmt.Errorf("invalid stack configuration (nothing was created):\n%w",
			errors.Join(r.problems...))
	}
	return c, nil
}

func (r *configReader) branchRules() rules.Rules {
	const fix = `pulumi config set --path 'branchRules.branches[0]' main` +
		` (or edit branchRules in Pulumi.<stack>.yaml)`
	v, ok := r.str("branchRules")
	if !ok {
		return rules.Default()
	}
	got, err := rules.Parse([]byte(v))
	if err != nil {
		r.fail("branchRules", err.Error(), fix)
		return rules.Default()
	}
	return got
}

func (r *configReader) allowedIPs() []string {
	const fix = "pulumi config set --path 'allowedSourceIps[0]' 203.0.113.0/24"
	v, ok := r.str("allowedSourceIps")
	if !ok {
		return nil
	}

	var list []string
	if err := json.Unmarshal([]byte(v), &list); err != nil {
		r.fail("allowedSourceIps", "is not a list of addresses or CIDR ranges", fix)
		return nil
	}
	out := make([]string, 0, len(list))
	for _, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				r.fail("allowedSourceIps", fmt.Sprintf("%q is not an address or CIDR range", s), fix)
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked().String())
	}
	return out
}
