package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// renderTemplate renders tpl with velocityjs (a real Velocity engine) under node, with API Gateway's
// $input, $util and $context modelled by vtl/render.js.
func renderTemplate(t *testing.T, tpl, body string, headers map[string]string) string {
	t.Helper()
	out, errText := render(t, map[string]any{"template": tpl, "body": body, "headers": headers})
	if errText != "" {
		t.Fatalf("render: %s", errText)
	}
	return out
}

// renderError renders tpl and returns the renderer's error, or "" when it rendered.
func renderError(t *testing.T, tpl, body string, headers map[string]string) string {
	t.Helper()
	_, errText := render(t, map[string]any{"template": tpl, "body": body, "headers": headers})
	return errText
}

// renderResponse renders an integration response template over a backend answer and returns the body
// and the status the template set with $context.responseOverride.status (0 for none).
func renderResponse(t *testing.T, tpl, backend string) (string, int) {
	t.Helper()
	out, errText := render(t, map[string]any{"template": tpl, "body": backend, "report": true})
	if errText != "" {
		t.Fatalf("render: %s", errText)
	}
	var rep struct {
		Body   string
		Status int
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("renderer report %q: %v", out, err)
	}
	return rep.Body, rep.Status
}

// render runs vtl/render.js on req and returns its output, or its error output when it failed.
func render(t *testing.T, req map[string]any) (out, errText string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is needed to render the request template: install Node.js 20 (apt-get install nodejs)")
	}
	if _, err := os.Stat(filepath.Join("vtl", "node_modules", "velocityjs")); err != nil {
		t.Fatal("velocityjs is not installed: run `npm ci --prefix stack/vtl` (make test does)")
	}
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, filepath.Join("vtl", "render.js"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Sprintf("%v: %s", err, stderr.String())
	}
	return string(b), ""
}

func TestRequestTemplate(t *testing.T) {
	const (
		jsonType = "application/json"
		formType = "application/x-www-form-urlencoded"
	)
	push, err := os.ReadFile(filepath.Join("testdata", "webhooks", "repository-push.form"))
	if err != nil {
		t.Fatal(err)
	}
	longRepo := url.QueryEscape(`{"repository":{"url":"https://demo.backlog.com/git/DEMO/` +
		strings.Repeat("r", 101) + `"}}`)
	tests := []struct {
		name    string
		file    string // under testdata/webhooks, or
		body    string // the body itself
		headers map[string]string
		group   string
	}{
		{name: "project webhook push", file: "project-push.json",
			headers: map[string]string{"Content-Type": jsonType}, group: "DEMO/api-server"},
		{name: "project webhook with charset", file: "project-push.json",
			headers: map[string]string{"Content-Type": jsonType + "; charset=utf-8"}, group: "DEMO/api-server"},
		{name: "lower-case header name", file: "project-push.json",
			headers: map[string]string{"content-type": jsonType}, group: "DEMO/api-server"},
		{name: "project webhook pull request with special characters", file: "project-pull-request.json",
			headers: map[string]string{"Content-Type": jsonType}, group: "DEMO/api-server"},
		{name: "project webhook without repository", file: "project-no-repository.json",
			headers: map[string]string{"Content-Type": jsonType}, group: "unrouted"},
		{name: "repository webhook push", file: "repository-push.form",
			headers: map[string]string{"Content-Type": formType}, group: "DEMO/api-server"},
		{name: "repository webhook with charset", file: "repository-push.form",
			headers: map[string]string{"Content-Type": formType + "; charset=UTF-8"}, group: "DEMO/api-server"},
		{name: "repository webhook of a .jp space", file: "repository-other-space.form",
			headers: map[string]string{"Content-Type": formType}, group: "OPS_2/infra.tools"},
		{name: "repository webhook with an unexpected url", file: "repository-odd-url.form",
			headers: map[string]string{"Content-Type": formType}, group: "unrouted"},
		{name: "form without payload", file: "form-without-payload.form",
			headers: map[string]string{"Content-Type": formType}, group: "unrouted"},

		// Bodies the handler rejects are queued all the same, so that it records why; none may fail here.
		{name: "payload that is not JSON", body: "payload=%7Bnot+json",
			headers: map[string]string{"Content-Type": formType}, group: "unrouted"},
		// The group only orders messages: a broken payload naming its repository waits its turn there.
		{name: "truncated payload naming its repository", file: "repository-truncated.form",
			headers: map[string]string{"Content-Type": formType}, group: "DEMO/api-server"},
		{name: "repository webhook without repository", file: "repository-no-repository.form",
			headers: map[string]string{"Content-Type": formType}, group: "unrouted"},
		{name: "repository webhook with a lower-case project", file: "repository-lowercase-project.form",
			headers: map[string]string{"Content-Type": formType}, group: "unrouted"},
		{name: "repository webhook with a repository name too long", body: "payload=" + longRepo,
			headers: map[string]string{"Content-Type": formType}, group: "unrouted"},
		{name: "payload with a malformed escape", body: "payload=%7B%22repository%zz%7D",
			headers: map[string]string{"Content-Type": formType}, group: "unrouted"},
		{name: "payload with a truncated escape", body: "payload=%7B%2",
			headers: map[string]string{"Content-Type": formType}, group: "unrouted"},
		{name: "payload that is not UTF-8", body: "payload=%FF%FE%7B%7D",
			headers: map[string]string{"Content-Type": formType}, group: "unrouted"},
		{name: "empty payload", body: "payload=",
			headers: map[string]string{"Content-Type": formType}, group: "unrouted"},
		{name: "empty form", body: "",
			headers: map[string]string{"Content-Type": formType}, group: "unrouted"},
		{name: "payload after another field", body: "x=%25zz&" + string(push),
			headers: map[string]string{"Content-Type": formType}, group: "DEMO/api-server"},
		{name: "repository webhook with escaped slashes and .git", file: "repository-escaped-slashes.form",
			headers: map[string]string{"Content-Type": formType}, group: "DEMO/api-server"},
		{name: "repository webhook posted as JSON", file: "repository-push.json",
			headers: map[string]string{"Content-Type": jsonType}, group: "DEMO/api-server"},
		{name: "JSON object that is no webhook", file: "json-not-backlog.json",
			headers: map[string]string{"Content-Type": jsonType}, group: "unrouted"},
		{name: "project key SQS would refuse in a group", file: "project-odd-key.json",
			headers: map[string]string{"Content-Type": jsonType}, group: "unrouted"},
		{name: "project key that is a number", file: "project-numeric-key.json",
			headers: map[string]string{"Content-Type": jsonType}, group: "unrouted"},
		{name: "empty JSON body", body: "",
			headers: map[string]string{"Content-Type": jsonType}, group: "unrouted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			if tt.file != "" {
				var err error
				if body, err = os.ReadFile(filepath.Join("testdata", "webhooks", tt.file)); err != nil {
					t.Fatal(err)
				}
			}
			out := renderTemplate(t, requestTemplate(), string(body), tt.headers)
			if strings.ContainsAny(out, " \t\r\n") {
				t.Fatalf("rendered form holds whitespace, which would corrupt the SendMessage request: %q", out)
			}
			form, err := url.ParseQuery(out)
			if err != nil {
				t.Fatalf("rendered form %q: %v", out, err)
			}

			var ct string
			for _, v := range tt.headers {
				ct = v
			}
			wantForm := url.Values{
				"Action":                               {"SendMessage"},
				"MessageGroupId":                       {tt.group},
				"MessageBody":                          {string(body)},
				"MessageAttribute.1.Name":              {"contentType"},
				"MessageAttribute.1.Value.DataType":    {"String"},
				"MessageAttribute.1.Value.StringValue": {ct},
			}
			for k, w := range wantForm {
				if got := form[k]; len(got) != 1 || got[0] != w[0] {
					t.Errorf("%s = %q, want %q", k, got, w[0])
				}
			}
			if len(form) != len(wantForm) {
				t.Errorf("form has %d fields, want %d: %v", len(form), len(wantForm), form)
			}
		})
	}
}

// TestRequestTemplateJoinsSafely guards the joining of lines: a directive glued to following text
// would change its meaning in Velocity.
func TestRequestTemplateJoinsSafely(t *testing.T) {
	glued := regexp.MustCompile(`#(end|else)[A-Za-z0-9_]`)
	for name, tpl := range map[string]string{"request": requestTemplate(), "queue-refused": queueRefusedTemplate()} {
		if m := glued.FindString(strings.ReplaceAll(tpl, "#elseif(", "")); m != "" {
			t.Errorf("joined %s template glues %q to text", name, m)
		}
		if strings.Contains(tpl, "##") || strings.Contains(tpl, "\n") {
			t.Errorf("joined %s template still holds comments or line breaks", name)
		}
	}
	if !strings.Contains(requestTemplate(), ")Action=SendMessage&") {
		t.Error("the SendMessage form is not the request template's only output")
	}
}

// TestRequestTemplateParsesNoForm guards against calls that throw in API Gateway on a body a client chose:
// $util.parseJson on anything, $input.path/$input.json before the body is known to be a JSON object.
func TestRequestTemplateParsesNoForm(t *testing.T) {
	tpl := requestTemplate()
	if strings.Contains(tpl, "parseJson") {
		t.Error("the request template calls $util.parseJson, which fails with a 500 on a malformed payload")
	}
	form := tpl[strings.Index(tpl, "application/x-www-form-urlencoded"):strings.Index(tpl, "#elseif(")]
	if strings.Contains(form, "$input.path") || strings.Contains(form, "$input.json") {
		t.Error("the form branch reads the body as JSON, which fails with a 500 on a form")
	}
}

// TestRendererFailsLikeAPIGateway shows that the renderer fails where API Gateway's Velocity does, so the
// cases above would catch a template that calls them on a client's body.
func TestRendererFailsLikeAPIGateway(t *testing.T) {
	for name, tpl := range map[string]string{
		"parseJson on text that is not JSON": `$util.parseJson('{"a":')`,
		"urlDecode of a malformed escape":    `$util.urlDecode('%7B%zz')`,
		"urlDecode of a truncated escape":    `$util.urlDecode('%7')`,
		"input.path on a form body":          `$input.path('$.a')`,
	} {
		t.Run(name, func(t *testing.T) {
			if err := renderError(t, tpl, "payload=x", nil); err == "" {
				t.Errorf("%s rendered without error", tpl)
			}
		})
	}
}

func TestQueueRefusedTemplate(t *testing.T) {
	tests := []struct {
		name   string
		sqs    string // SQS error answer to SendMessage (query protocol, XML)
		status int    // $context.responseOverride.status, 0 when the integration response's 400 stands
		body   string
	}{
		{name: "message too large", status: 413, body: `{"error":"body too large: the limit is 1 MiB"}`,
			sqs: sqsError("InvalidParameterValue",
				"One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.")},
		{name: "characters SQS refuses", status: 0,
			body: `{"error":"malformed body: it holds characters a queue message cannot carry"}`,
			sqs: sqsError("InvalidMessageContents", "Invalid binary character '#x0' was found in the message body, "+
				"the set of allowed characters is available at the SQS documentation.")},
		{name: "queue gone", status: 500, body: failedResponse,
			sqs: sqsError("AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.")},
		{name: "empty answer", status: 500, body: failedResponse, sqs: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, status := renderResponse(t, queueRefusedTemplate(), tt.sqs)
			if body != tt.body || status != tt.status {
				t.Errorf("answer %d %s, want %d %s", status, body, tt.status, tt.body)
			}
			var reply struct{ Error string }
			if err := json.Unmarshal([]byte(body), &reply); err != nil || reply.Error == "" {
				t.Errorf("answer %s is not JSON with an error: %v", body, err)
			}
		})
	}
}

func sqsError(code, message string) string {
	return `<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error>` +
		`<Type>Sender</Type><Code>` + code + `</Code><Message>` + message + `</Message><Detail/></Error>` +
		`<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`
}
