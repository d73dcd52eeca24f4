package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestBodyValidation(t *testing.T) {
	m := mustRun(t, newTestConfig(t))

	v := m.one(t, "aws:apigateway/requestValidator:RequestValidator")
	want(t, v, "restApi", m.one(t, "aws:apigateway/restApi:RestApi").ID)
	want(t, v, "validateRequestBody", true)
	want(t, v, "validateRequestParameters", false)

	model := m.one(t, "aws:apigateway/model:Model")
	want(t, model, "name", "BacklogWebhook")
	want(t, model, "contentType", "application/json")
	var schema map[string]any
	if err := json.Unmarshal([]byte(model.Inputs["schema"].(string)), &schema); err != nil {
		t.Fatalf("model schema: %v", err)
	}
	if schema["type"] != "object" || schema["$schema"] != "http://json-schema.org/draft-04/schema#" {
		t.Errorf("model schema %v, want a draft-04 schema of any JSON object", schema)
	}
	if _, ok := schema["required"]; ok {
		t.Error("model schema requires fields: objects that are no webhook must reach the handler's ledger")
	}
}

// errorContext is what API Gateway puts in $context.error for a body the validator refused.
// validationErrorString arrives JSON-escaped; message is plain and messageString quoted.
var errorContext = strings.NewReplacer(
	"$context.error.messageString", `"Invalid request body"`,
	"$context.error.message", "Invalid request body",
	"$context.error.validationErrorString",
	`[instance type (array) does not match any allowed primitive type (allowed: [\"object\"])]`,
)

func TestGatewayResponses(t *testing.T) {
	m := mustRun(t, newTestConfig(t))
	api := m.one(t, "aws:apigateway/restApi:RestApi")

	tests := []struct {
		typ, status, error string
	}{
		{typ: "BAD_REQUEST_BODY", status: "400", error: "malformed body: Invalid request body " +
			`[instance type (array) does not match any allowed primitive type (allowed: ["object"])]`},
		{typ: "MISSING_AUTHENTICATION_TOKEN", status: "404",
			error: "not found: webhooks are accepted by POST at /v1/backlog-webhook/<token>"},
		{typ: "UNSUPPORTED_MEDIA_TYPE", status: "415", error: "unsupported media type: send application/json " +
			"(project webhook) or application/x-www-form-urlencoded (repository webhook)"},
		{typ: "REQUEST_TOO_LARGE", status: "413", error: "body too large: the limit is 1 MiB"},
		{typ: "ACCESS_DENIED", status: "403",
			error: "forbidden: webhooks are accepted only from the allowed source addresses"},
		{typ: "DEFAULT_4XX", error: "Invalid request body"},
		{typ: "DEFAULT_5XX", error: "Invalid request body"},
	}
	got := map[string]registered{}
	for _, r := range m.of("aws:apigateway/response:Response") {
		got[r.Inputs["responseType"].(string)] = r
	}
	if len(got) != len(tests) {
		t.Errorf("%d gateway responses, want %d", len(got), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			r, ok := got[tt.typ]
			if !ok {
				t.Fatalf("no gateway response %s", tt.typ)
			}
			want(t, r, "restApiId", api.ID)
			if tt.status == "" {
				want(t, r, "statusCode", nil)
			} else {
				want(t, r, "statusCode", tt.status)
			}
			tpl, _ := get(r.Inputs, "responseTemplates.application/json").(string)
			body := errorContext.Replace(tpl)
			var reply map[string]string
			if err := json.Unmarshal([]byte(body), &reply); err != nil {
				t.Fatalf("answer %s is not JSON: %v", body, err)
			}
			if reply["error"] != tt.error || len(reply) != 1 {
				t.Errorf("answer %s, want only error %q", body, tt.error)
			}
			if strings.Contains(body, testToken) {
				t.Error("the answer holds the webhook token")
			}
		})
	}
}

// TestDeploymentWaitsForAPI checks that the deployment is made after what it must include: API Gateway
// deploys a snapshot, and validation or gateway responses made later would not be served.
func TestDeploymentWaitsForAPI(t *testing.T) {
	m := mustRun(t, newTestConfig(t))
	dep := m.one(t, "aws:apigateway/deployment:Deployment")
	names := []string{"hook-body", "hook-webhook", "hook-post", "hook-sqs", "hook-200", "hook-400", "hook-500"}
	for _, g := range gatewayResponses {
		names = append(names, "gw-"+g.Type)
	}
	for _, name := range names {
		found := false
		for _, urn := range dep.DependsOn {
			found = found || strings.HasSuffix(urn, "::"+name)
		}
		if !found {
			t.Errorf("the deployment does not wait for %s", name)
		}
	}

	sum := sha256.Sum256([]byte(apiDefinition(mustConfig(t))))
	want(t, dep, "triggers.redeployment", hex.EncodeToString(sum[:]))
}

// TestAPIDefinitionChanges checks that changing what API Gateway serves changes the deployment trigger.
func TestAPIDefinitionChanges(t *testing.T) {
	cfg := mustConfig(t)
	before := apiDefinition(cfg)
	for i := range gatewayResponses {
		t.Run(gatewayResponses[i].Type, func(t *testing.T) {
			old := gatewayResponses[i].Body
			t.Cleanup(func() { gatewayResponses[i].Body = old })
			gatewayResponses[i].Body = `{"error":"changed"}`
			if apiDefinition(cfg) == before {
				t.Error("a new gateway response body leaves the deployment trigger as it was")
			}
		})
	}
	old := webhookSchema
	t.Cleanup(func() { webhookSchema = old })
	webhookSchema = `{"type":"array"}`
	if apiDefinition(cfg) == before {
		t.Error("a new model schema leaves the deployment trigger as it was")
	}
}

// TestIntegrationAnswerPatterns checks that every status SQS may answer selects exactly one integration
// response: none for 2xx (the default, 200), the queue-refused template for 400, failure for the rest.
func TestIntegrationAnswerPatterns(t *testing.T) {
	for code := 200; code < 600; code++ {
		status := fmt.Sprint(code)
		var matched []string
		for _, a := range integrationAnswers {
			if a.Pattern != "" && regexp.MustCompile(`^(?:`+a.Pattern+`)$`).MatchString(status) {
				matched = append(matched, a.Code)
			}
		}
		wantCode := "500"
		switch {
		case code < 400:
			wantCode = ""
		case code == 400:
			wantCode = "400"
		}
		if got := strings.Join(matched, ","); got != wantCode {
			t.Errorf("SQS status %d selects answers [%s], want [%s]", code, got, wantCode)
		}
	}
}

// mustConfig is the Config newTestConfig loads into, as far as apiDefinition reads it.
func mustConfig(t *testing.T) Config {
	t.Helper()
	return Config{WebhookToken: testToken}
}
