package main

import (
	"bytes"
	"encoding/json"
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
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is needed to render the request template: install Node.js 20 (apt-get install nodejs)")
	}
	if _, err := os.Stat(filepath.Join("vtl", "node_modules", "velocityjs")); err != nil {
		t.Fatal("velocityjs is not installed: run `npm ci --prefix stack/vtl` (make test does)")
	}
	req, err := json.Marshal(map[string]any{"template": tpl, "body": body, "headers": headers})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, filepath.Join("vtl", "render.js"))
	cmd.Stdin = bytes.NewReader(req)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("render: %v\n%s", err, stderr.String())
	}
	return string(out)
}

func TestRequestTemplate(t *testing.T) {
	const (
		jsonType = "application/json"
		formType = "application/x-www-form-urlencoded"
	)
	tests := []struct {
		name    string
		file    string
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "webhooks", tt.file))
			if err != nil {
				t.Fatal(err)
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
	tpl := requestTemplate()
	if m := regexp.MustCompile(`#(end|else)[A-Za-z0-9_]`).FindString(tpl); m != "" {
		t.Errorf("joined template glues %q to text", m)
	}
	if strings.Contains(tpl, "##") || strings.Contains(tpl, "\n") {
		t.Error("joined template still holds comments or line breaks")
	}
	if !strings.Contains(tpl, ")Action=SendMessage&") {
		t.Error("the SendMessage form is not the template's only output")
	}
}
