package main

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/backlog-webhook/backlog-webhook/handler/lambdaconfig"
	"github.com/backlog-webhook/backlog-webhook/handler/rules"
)

func TestFunction(t *testing.T) {
	cfg := newTestConfig(t)
	cfg["lambdaMemoryMb"] = "2048"
	cfg["lambdaTimeoutSeconds"] = "600"
	cfg["lambdaEphemeralStorageMb"] = "4096"
	cfg["retentionDays"] = "30"
	cfg["logRetentionDays"] = "90"
	cfg["batchSize"] = "3"
	cfg["branchRules"] = `{"branches":["main","release/**"],` +
		`"repositories":{"DEMO/api-server":{"branches":["main"],"subfolders":true}}}`
	m := mustRun(t, cfg)

	fn := m.one(t, "aws:lambda/function:Function")
	want(t, fn, "runtime", "provided.al2023")
	want(t, fn, "architectures", []any{"arm64"})
	want(t, fn, "handler", "bootstrap")
	want(t, fn, "memorySize", 2048.0)
	want(t, fn, "timeout", 600.0)
	want(t, fn, "ephemeralStorage.size", 4096.0)
	want(t, fn, "tracingConfig.mode", "Active")
	want(t, fn, "loggingConfig.logFormat", "JSON")
	want(t, fn, "role", m.named(t, "aws:iam/role:Role", "function").State["arn"])
	if _, ok := fn.Inputs["code"].(*resource.Archive); !ok {
		t.Errorf("code is %T, want a file archive", fn.Inputs["code"])
	}

	logs := m.named(t, "aws:cloudwatch/logGroup:LogGroup", "function-logs")
	want(t, fn, "loggingConfig.logGroup", logs.State["name"])
	want(t, logs, "retentionInDays", 90.0)

	env := get(fn.Inputs, "environment.variables").(map[string]any)
	wantEnv := map[string]any{
		lambdaconfig.EnvTable:         m.one(t, "aws:dynamodb/table:Table").State["name"],
		lambdaconfig.EnvBucket:        m.one(t, "aws:s3/bucketV2:BucketV2").State["bucket"],
		lambdaconfig.EnvGitServer:     testServer,
		lambdaconfig.EnvSSHSecret:     m.one(t, "aws:secretsmanager/secret:Secret").State["name"],
		lambdaconfig.EnvRetentionDays: "30",
		lambdaconfig.EnvBranchRules:   env[lambdaconfig.EnvBranchRules],
	}
	if !reflect.DeepEqual(env, wantEnv) {
		t.Errorf("environment = %v, want %v", env, wantEnv)
	}
	got, err := rules.Parse([]byte(env[lambdaconfig.EnvBranchRules].(string)))
	if err != nil {
		t.Fatalf("BRANCH_RULES does not parse as the handler parses it: %v", err)
	}
	if d := got.Decide("DEMO", "api-server", "main"); !d.Archive || !d.Subfolders {
		t.Errorf("BRANCH_RULES lost the DEMO/api-server override: %+v", d)
	}
	if d := got.Decide("DEMO", "web", "release/1.0"); !d.Archive {
		t.Errorf("BRANCH_RULES lost the release/** default: %+v", d)
	}
	// The function reads the same environment the stack writes.
	if _, err := lambdaconfig.FromEnv(func(k string) string { s, _ := env[k].(string); return s }); err != nil {
		t.Errorf("the handler rejects the environment the stack sets: %v", err)
	}

	esm := m.one(t, "aws:lambda/eventSourceMapping:EventSourceMapping")
	want(t, esm, "eventSourceArn", m.named(t, "aws:sqs/queue:Queue", "deliveries").State["arn"])
	want(t, esm, "functionName", fn.State["arn"])
	want(t, esm, "functionResponseTypes", []any{"ReportBatchItemFailures"})
	want(t, esm, "batchSize", 3.0)
}

func TestSecret(t *testing.T) {
	t.Run("value from config", func(t *testing.T) {
		cfg := newTestConfig(t)
		m := mustRun(t, cfg)
		secret := m.one(t, "aws:secretsmanager/secret:Secret")
		version := m.one(t, "aws:secretsmanager/secretVersion:SecretVersion")
		want(t, version, "secretId", secret.ID)
		if !containsString(version.SecretInputs, "secretString") {
			t.Error("secretString is not a Pulumi secret")
		}
		var v map[string]string
		if err := json.Unmarshal([]byte(version.Inputs["secretString"].(string)), &v); err != nil {
			t.Fatal(err)
		}
		pub, err := publicKeyOf(cfg["sshPrivateKey"])
		if err != nil {
			t.Fatal(err)
		}
		if v["id_ed25519"] != cfg["sshPrivateKey"] || v["id_ed25519.pub"] != pub ||
			v["known_hosts"] != cfg["knownHosts"]+"\n" || len(v) != 3 {
			t.Errorf("secret value has keys %v, want id_ed25519, id_ed25519.pub and known_hosts from config", keysOf(v))
		}
	})
	t.Run("left empty", func(t *testing.T) {
		cfg := newTestConfig(t)
		delete(cfg, "sshPrivateKey")
		m := mustRun(t, cfg)
		m.one(t, "aws:secretsmanager/secret:Secret")
		if n := len(m.of("aws:secretsmanager/secretVersion:SecretVersion")); n != 0 {
			t.Errorf("%d secret versions without a configured key, want 0", n)
		}
	})
}

func containsString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
