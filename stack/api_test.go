package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestAPI(t *testing.T) {
	cfg := newTestConfig(t)
	cfg["throttleRateLimit"] = "7"
	cfg["throttleBurstLimit"] = "14"
	m := mustRun(t, cfg)

	api := m.one(t, "aws:apigateway/restApi:RestApi")
	want(t, api, "endpointConfiguration.types", "REGIONAL")

	hook := m.named(t, "aws:apigateway/resource:Resource", "hook")
	want(t, hook, "parentId", "root0")
	want(t, hook, "pathPart", hookPath)
	token := m.named(t, "aws:apigateway/resource:Resource", "hook-token")
	want(t, token, "parentId", hook.ID)
	want(t, token, "pathPart", testToken)
	if !containsString(token.SecretInputs, "pathPart") || !containsString(token.SecretOutputs, "path") {
		t.Errorf("token resource: secret inputs %v, secret outputs %v; want pathPart and path secret",
			token.SecretInputs, token.SecretOutputs)
	}
	if n := len(m.of("aws:apigateway/resource:Resource")); n != 2 {
		t.Errorf("%d API resources, want /backlog-webhook and its token only", n)
	}

	method := m.one(t, "aws:apigateway/method:Method")
	want(t, method, "resourceId", token.ID)
	want(t, method, "httpMethod", "POST")
	want(t, method, "authorization", "NONE")
	want(t, method, "requestValidatorId", m.one(t, "aws:apigateway/requestValidator:RequestValidator").ID)
	want(t, method, "requestModels", map[string]any{"application/json": "BacklogWebhook"})

	queue := m.named(t, "aws:sqs/queue:Queue", "deliveries")
	in := m.one(t, "aws:apigateway/integration:Integration")
	want(t, in, "resourceId", token.ID)
	want(t, in, "type", "AWS")
	want(t, in, "integrationHttpMethod", "POST")
	want(t, in, "uri", "arn:aws:apigateway:"+testRegion+":sqs:path/"+testAccount+"/"+queue.State["name"].(string))
	want(t, in, "credentials", m.named(t, "aws:iam/role:Role", "webhook-sqs").State["arn"])
	want(t, in, "passthroughBehavior", "NEVER")
	want(t, in, "requestParameters", map[string]any{
		"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"})
	want(t, in, "requestTemplates", map[string]any{
		"application/json": requestTemplate(), "application/x-www-form-urlencoded": requestTemplate()})

	var codes []string
	for _, r := range m.of("aws:apigateway/methodResponse:MethodResponse") {
		codes = append(codes, r.Inputs["statusCode"].(string))
	}
	slices.Sort(codes)
	if !slices.Equal(codes, []string{"200", "400", "413", "500"}) {
		t.Errorf("method responses %v, want 200, 400, 413 and 500", codes)
	}
	answers := map[string]registered{}
	for _, r := range m.of("aws:apigateway/integrationResponse:IntegrationResponse") {
		answers[r.Inputs["statusCode"].(string)] = r
	}
	if len(answers) != 3 {
		t.Errorf("%d integration responses, want 200, 400 and 500", len(answers))
	}
	want(t, answers["200"], "responseTemplates", map[string]any{"application/json": queuedResponse})
	want(t, answers["400"], "responseTemplates", map[string]any{"application/json": queueRefusedTemplate()})
	want(t, answers["500"], "responseTemplates", map[string]any{"application/json": failedResponse})

	stage := m.one(t, "aws:apigateway/stage:Stage")
	want(t, stage, "stageName", "v1")
	want(t, stage, "deployment", m.one(t, "aws:apigateway/deployment:Deployment").ID)
	want(t, stage, "accessLogSettings.destinationArn",
		m.named(t, "aws:cloudwatch/logGroup:LogGroup", "api-access-logs").State["arn"])
	var format map[string]string
	if err := json.Unmarshal([]byte(get(stage.Inputs, "accessLogSettings.format").(string)), &format); err != nil {
		t.Fatalf("access log format: %v", err)
	}
	for k, v := range format {
		if strings.Contains(v, "path") || strings.Contains(v, "resourcePath") {
			t.Errorf("access log field %s = %s would log the secret token", k, v)
		}
	}

	settings := m.one(t, "aws:apigateway/methodSettings:MethodSettings")
	want(t, settings, "methodPath", "*/*")
	want(t, settings, "settings.throttlingRateLimit", 7.0)
	want(t, settings, "settings.throttlingBurstLimit", 14.0)
	want(t, settings, "settings.loggingLevel", "OFF")

	if n := len(m.of("aws:apigateway/restApiPolicy:RestApiPolicy")); n != 0 {
		t.Errorf("%d API policies without an allowlist, want 0", n)
	}
	if n := len(m.of("aws:apigateway/account:Account")); n != 0 {
		t.Errorf("the account-wide API Gateway setting was changed without manageApiGatewayAccount")
	}
}

func TestAPIAllowlist(t *testing.T) {
	cfg := newTestConfig(t)
	cfg["allowedSourceIps"] = `["203.0.113.0/24","198.51.100.7"]`
	m := mustRun(t, cfg)

	pol := m.one(t, "aws:apigateway/restApiPolicy:RestApiPolicy")
	want(t, pol, "restApiId", m.one(t, "aws:apigateway/restApi:RestApi").ID)
	doc := parsePolicy(t, pol.Inputs["policy"])
	var denied []any
	for _, st := range doc.Statement {
		if st.Effect == "Deny" {
			denied, _ = get(st.Condition, "NotIpAddress.aws:SourceIp").([]any)
		}
	}
	if len(denied) != 2 || denied[0] != "203.0.113.0/24" || denied[1] != "198.51.100.7/32" {
		t.Errorf("allowlist deny covers %v, want every source outside 203.0.113.0/24 and 198.51.100.7/32", denied)
	}
}

func TestManagedAPIGatewayAccount(t *testing.T) {
	cfg := newTestConfig(t)
	cfg["manageApiGatewayAccount"] = "true"
	m := mustRun(t, cfg)
	acct := m.one(t, "aws:apigateway/account:Account")
	want(t, acct, "cloudwatchRoleArn", m.named(t, "aws:iam/role:Role", "apigateway-cloudwatch").State["arn"])
	want(t, m.one(t, "aws:iam/rolePolicyAttachment:RolePolicyAttachment"), "policyArn", pushToCloudWatchPolicy)
}

func TestOutputs(t *testing.T) {
	cfg := newTestConfig(t)
	m := &recorder{}
	got := map[string]string{}
	secret := map[string]bool{}
	var mu sync.Mutex
	prog := func(ctx *pulumi.Context) error {
		outs, err := provision(ctx, func(_ context.Context, _ string) (string, error) { return fakeZip(t), nil })
		if err != nil {
			return err
		}
		for name, o := range outs {
			secret[name] = pulumi.IsSecret(o)
			o.ApplyT(func(v string) string { mu.Lock(); got[name] = v; mu.Unlock(); return v })
		}
		return nil
	}
	if err := pulumi.RunErr(prog, pulumi.WithMocks("backlog-webhook", "test", m), withConfig(cfg)); err != nil {
		t.Fatal(err)
	}

	wantOut := map[string]string{
		"webhookUrl":         "https://abc123api.execute-api.us-east-1.amazonaws.com/v1/backlog-webhook/" + testToken,
		"bucketName":         m.one(t, "aws:s3/bucketV2:BucketV2").State["bucket"].(string),
		"tableName":          m.one(t, "aws:dynamodb/table:Table").State["name"].(string),
		"queueUrl":           m.named(t, "aws:sqs/queue:Queue", "deliveries").State["url"].(string),
		"deadLetterQueueUrl": m.named(t, "aws:sqs/queue:Queue", "deliveries-dlq").State["url"].(string),
		"sshSecretName":      m.one(t, "aws:secretsmanager/secret:Secret").State["name"].(string),
		"functionName":       m.one(t, "aws:lambda/function:Function").State["name"].(string),
	}
	for name, w := range wantOut {
		if got[name] != w {
			t.Errorf("output %s = %q, want %q", name, got[name], w)
		}
		if secret[name] != (name == "webhookUrl") {
			t.Errorf("output %s secret = %v; only webhookUrl is secret", name, secret[name])
		}
	}
	if len(got) != len(wantOut) {
		t.Errorf("outputs %v, want exactly %d", keysOf(got), len(wantOut))
	}
}
