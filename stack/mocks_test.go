package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"golang.org/x/crypto/ssh"
)

const (
	testRegion  = "us-east-1"
	testAccount = "123456789012"
	testServer  = "demo@demo.git.backlog.com"
	testToken   = "0123456789abcdef0123456789abcdef-token"
)

// registered is one resource the program registered, with its inputs made plain.
type registered struct {
	Type, Name, ID string
	Inputs         map[string]any
	State          map[string]any
	SecretInputs   []string // input keys whose value was a secret
	SecretOutputs  []string // AdditionalSecretOutputs
	DependsOn      []string // URNs of the resources it was registered to wait for
}

// recorder is a Pulumi mock monitor that records registrations and fills in the outputs AWS would compute.
type recorder struct {
	mu  sync.Mutex
	res []registered
}

func (m *recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("the program must not call %s", args.Token)
}

func (m *recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r := registered{Type: args.TypeToken, Name: args.Name, Inputs: map[string]any{}}
	for k, v := range args.Inputs {
		if v.ContainsSecrets() {
			r.SecretInputs = append(r.SecretInputs, string(k))
		}
		r.Inputs[string(k)] = plain(v)
	}
	if args.RegisterRPC != nil {
		r.SecretOutputs = args.RegisterRPC.GetAdditionalSecretOutputs()
		r.DependsOn = args.RegisterRPC.GetDependencies()
	}

	state := args.Inputs.Copy()
	name, _ := r.Inputs["name"].(string)
	if name == "" {
		name = args.Name + "-0a1b2c3"
		state["name"] = resource.NewStringProperty(name)
	}
	r.ID = name
	arn := func(service, rest string) {
		state["arn"] = resource.NewStringProperty(fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, testRegion,
			testAccount, rest))
	}
	switch args.TypeToken {
	case "aws:s3/bucketV2:BucketV2":
		state["bucket"] = resource.NewStringProperty(name)
		state["arn"] = resource.NewStringProperty("arn:aws:s3:::" + name)
	case "aws:dynamodb/table:Table":
		arn("dynamodb", "table/"+name)
	case "aws:secretsmanager/secret:Secret":
		arn("secretsmanager", "secret:"+name+"-AbCdEf")
	case "aws:sqs/queue:Queue":
		arn("sqs", name)
		state["url"] = resource.NewStringProperty("https://sqs." + testRegion + ".amazonaws.com/" + testAccount + "/" +
			name)
	case "aws:cloudwatch/logGroup:LogGroup":
		arn("logs", "log-group:"+name)
	case "aws:iam/role:Role":
		state["arn"] = resource.NewStringProperty("arn:aws:iam::" + testAccount + ":role/" + name)
	case "aws:lambda/function:Function":
		arn("lambda", "function:"+name)
	case "aws:sns/topic:Topic":
		arn("sns", name)
	case "aws:apigateway/restApi:RestApi":
		r.ID = "abc123api"
		state["rootResourceId"] = resource.NewStringProperty("root0")
		state["executionArn"] = resource.NewStringProperty("arn:aws:execute-api:" + testRegion + ":" + testAccount +
			":" + r.ID)
	case "aws:apigateway/stage:Stage":
		state["invokeUrl"] = resource.NewStringProperty("https://abc123api.execute-api." + testRegion +
			".amazonaws.com/" + r.Inputs["stageName"].(string))
	}
	r.State = map[string]any{}
	for k, v := range state {
		r.State[string(k)] = plain(v)
	}

	m.mu.Lock()
	m.res = append(m.res, r)
	m.mu.Unlock()
	return r.ID, state, nil
}

// plain turns a property value into Go values, unwrapping secrets and outputs.
func plain(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return plain(v.SecretValue().Element)
	case v.IsOutput():
		return plain(v.OutputValue().Element)
	case v.IsComputed():
		return "<computed>"
	case v.IsArray():
		out := []any{}
		for _, e := range v.ArrayValue() {
			out = append(out, plain(e))
		}
		return out
	case v.IsObject():
		out := map[string]any{}
		for k, e := range v.ObjectValue() {
			out[string(k)] = plain(e)
		}
		return out
	case v.IsAsset(), v.IsArchive():
		return v.V
	case v.IsNull():
		return nil
	}
	return v.V
}

// of returns the registered resources of one type.
func (m *recorder) of(typ string) []registered {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []registered
	for _, r := range m.res {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// one returns the single resource of typ, failing the test when there is not exactly one.
func (m *recorder) one(t *testing.T, typ string) registered {
	t.Helper()
	rs := m.of(typ)
	if len(rs) != 1 {
		t.Fatalf("%s: %d registered, want 1", typ, len(rs))
	}
	return rs[0]
}

// named returns the resource of typ with the given Pulumi name.
func (m *recorder) named(t *testing.T, typ, name string) registered {
	t.Helper()
	for _, r := range m.of(typ) {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("%s %q not registered", typ, name)
	return registered{}
}

// arns lists the ARNs of every resource the program created.
func (m *recorder) arns() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, r := range m.res {
		for _, k := range []string{"arn", "executionArn"} {
			if s, ok := r.State[k].(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// count returns how many resources other than the stack itself were registered.
func (m *recorder) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, r := range m.res {
		if r.Type != "pulumi:pulumi:Stack" {
			n++
		}
	}
	return n
}

// testConfig is a valid configuration: plain keys are namespaced here, secretKeys are marked secret.
type testConfig map[string]string

var secretKeys = []string{"webhookToken", "sshPrivateKey"}

func newTestConfig(t *testing.T) testConfig {
	t.Helper()
	return testConfig{
		"gitServer":     testServer,
		"knownHosts":    knownHostsLine(t, "demo.git.backlog.com"),
		"webhookToken":  testToken,
		"sshPrivateKey": newPrivateKey(t),
	}
}

// run runs the program under mocks with cfg and a build that writes a small zip. It reports whether
// the build ran.
func run(t *testing.T, cfg testConfig) (*recorder, bool, error) {
	t.Helper()
	m := &recorder{}
	built := false
	build := func(_ context.Context, pkg string) (string, error) {
		built = true
		if pkg != handlerPackage {
			return "", fmt.Errorf("built %s, want %s", pkg, handlerPackage)
		}
		return fakeZip(t), nil
	}
	err := pulumi.RunErr(program(build), pulumi.WithMocks("backlog-webhook", "test", m), withConfig(cfg))
	return m, built, err
}

func withConfig(cfg testConfig) pulumi.RunOption {
	return func(info *pulumi.RunInfo) {
		info.Config = map[string]string{}
		info.ConfigSecretKeys = nil
		for k, v := range cfg {
			info.Config["backlog-webhook:"+k] = v
			if slices.Contains(secretKeys, k) {
				info.ConfigSecretKeys = append(info.ConfigSecretKeys, "backlog-webhook:"+k)
			}
		}
	}
}

func fakeZip(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	writeFile(t, bin, "#!/bin/sh\n")
	out := filepath.Join(dir, "handler.zip")
	if err := zipBootstrap(bin, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func newPrivateKey(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block))
}

// knownHostsLine returns a known_hosts line for host with a fresh ed25519 host key.
func knownHostsLine(t *testing.T, host string) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return host + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
}
