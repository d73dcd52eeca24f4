package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
)

// stackTeardownTimeout bounds destroy and remove, which run after the test's own context is cancelled.
const stackTeardownTimeout = 30 * time.Minute

// stackLog streams Pulumi's progress into the test log.
type stackLog struct{ t *testing.T }

func (w stackLog) Write(p []byte) (int, error) {
	w.t.Helper()
	if s := strings.TrimRight(string(p), "\n"); s != "" {
		w.t.Log(s)
	}
	return len(p), nil
}

// stackDeployment is a throwaway stack deployed from this checkout.
type stackDeployment struct {
	Stack   auto.Stack
	Outputs auto.OutputMap
	Token   string
	File    string // config file of the stack, removed in cleanup
}

// stackRepoRoot is the folder holding Pulumi.yaml.
func stackRepoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "Pulumi.yaml")); err != nil {
		t.Fatalf("no Pulumi.yaml above e2e/: %v", err)
	}
	return root
}

// stackDeploy creates a stack with a random name in a local backend of its own, configures it from e,
// runs `pulumi up`, and registers a cleanup that destroys and removes it and fails the test on leaks.
func stackDeploy(t *testing.T, e stackEnv) *stackDeployment {
	t.Helper()
	ctx := t.Context()
	root := stackRepoRoot(t)
	name := "e2e-" + stackRandomHex(t, 4)
	backend := t.TempDir()

	ws, err := auto.NewLocalWorkspace(ctx,
		auto.WorkDir(root),
		auto.SecretsProvider("passphrase"),
		auto.EnvVars(map[string]string{
			"PULUMI_BACKEND_URL":       "file://" + filepath.ToSlash(backend),
			"PULUMI_CONFIG_PASSPHRASE": e.Passphrase,
			"PULUMI_SKIP_UPDATE_CHECK": "true",
		}))
	if err != nil {
		t.Fatalf("workspace: %v", err)
	}
	st, err := auto.NewStack(ctx, name, ws)
	if err != nil {
		t.Fatalf("create stack %s: %v", name, err)
	}
	d := &stackDeployment{Stack: st, Token: stackRandomHex(t, 24), File: filepath.Join(root, "Pulumi."+name+".yaml")}
	t.Cleanup(func() { stackTeardown(t, d) })

	rules, err := json.Marshal(map[string]any{"branches": []string{e.Branch}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := auto.ConfigMap{
		"aws:region":                       {Value: e.Region},
		"backlog-webhook:gitServer":        {Value: e.GitServer},
		"backlog-webhook:knownHosts":       {Value: e.KnownHosts},
		"backlog-webhook:sshPrivateKey":    {Value: e.SSHKey, Secret: true},
		"backlog-webhook:webhookToken":     {Value: d.Token, Secret: true},
		"backlog-webhook:branchRules":      {Value: string(rules)},
		"backlog-webhook:forceDestroy":     {Value: "true"},
		"backlog-webhook:logRetentionDays": {Value: "1"},
	}
	if err := st.SetAllConfig(ctx, cfg); err != nil {
		t.Fatalf("configure stack %s: %v", name, err)
	}

	res, err := st.Up(ctx, optup.ProgressStreams(stackLog{t}), optup.ErrorProgressStreams(stackLog{t}))
	if err != nil {
		t.Fatalf("pulumi up %s: %v", name, err)
	}
	d.Outputs = res.Outputs
	return d
}

// output returns a string stack output, failing the test when it is absent.
func (d *stackDeployment) output(t *testing.T, name string) string {
	t.Helper()
	v, ok := d.Outputs[name].Value.(string)
	if !ok || v == "" {
		t.Fatalf("stack output %s missing", name)
	}
	return v
}

// stackTeardown destroys the stack with a context of its own, lists anything left in its state as a
// leak, then removes the stack and its config file.
func stackTeardown(t *testing.T, d *stackDeployment) {
	ctx, cancel := context.WithTimeout(context.Background(), stackTeardownTimeout)
	defer cancel()
	name := d.Stack.Name()
	defer func() {
		if err := os.Remove(d.File); err != nil && !os.IsNotExist(err) {
			t.Errorf("remove %s: %v", d.File, err)
		}
	}()

	if _, err := d.Stack.Destroy(ctx, optdestroy.ProgressStreams(stackLog{t}),
		optdestroy.ErrorProgressStreams(stackLog{t})); err != nil {
		t.Errorf("pulumi destroy %s: %v", name, err)
	}
	if left := stackResources(ctx, t, d.Stack); len(left) > 0 {
		t.Errorf("LEAKED AWS RESOURCES after destroying stack %s (delete them by hand, or import %s into a "+
			"stack with `pulumi stack import` and run `pulumi destroy`):\n  %s",
			name, stackSaveState(ctx, t, d.Stack), strings.Join(left, "\n  "))
		return
	}
	if err := d.Stack.Workspace().RemoveStack(ctx, name); err != nil {
		t.Errorf("pulumi stack rm %s: %v", name, err)
	}
}

// stackResources lists the URNs of the resources a stack's state still holds, the stack itself aside.
func stackResources(ctx context.Context, t *testing.T, st auto.Stack) []string {
	t.Helper()
	dep, err := st.Export(ctx)
	if err != nil {
		return []string{fmt.Sprintf("(state of %s unreadable: %v)", st.Name(), err)}
	}
	var state struct {
		Resources []struct {
			URN  string `json:"urn"`
			Type string `json:"type"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(dep.Deployment, &state); err != nil {
		return []string{fmt.Sprintf("(state of %s unparsable: %v)", st.Name(), err)}
	}
	var left []string
	for _, r := range state.Resources {
		if r.Type != "pulumi:pulumi:Stack" && !strings.HasPrefix(r.Type, "pulumi:providers:") {
			left = append(left, r.URN)
		}
	}
	return left
}

// stackSaveState writes the stack's state outside the test's temporary folders and returns its path.
func stackSaveState(ctx context.Context, t *testing.T, st auto.Stack) string {
	t.Helper()
	dep, err := st.Export(ctx)
	if err != nil {
		return fmt.Sprintf("(state unreadable: %v)", err)
	}
	b, err := json.Marshal(dep)
	if err != nil {
		return fmt.Sprintf("(state unreadable: %v)", err)
	}
	f, err := os.CreateTemp("", "backlog-webhook-"+st.Name()+"-*.json")
	if err != nil {
		return fmt.Sprintf("(state not saved: %v)", err)
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Write(b); err != nil {
		return fmt.Sprintf("(state not saved: %v)", err)
	}
	return f.Name()
}
