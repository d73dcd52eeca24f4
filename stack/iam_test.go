package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// testPolicy is a parsed policy document. Action and Resource accept a string or a list, as IAM does.
type testPolicy struct {
	Version   string
	Statement []testStatement
}

type testStatement struct {
	Sid       string
	Effect    string
	Principal any
	Action    stringList
	Resource  stringList
	Condition map[string]any
}

type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = []string{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(l))
}

func parsePolicy(t *testing.T, v any) testPolicy {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("policy is %T, want a JSON string", v)
	}
	var p testPolicy
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("policy %s: %v", s, err)
	}
	if p.Version != "2012-10-17" || len(p.Statement) == 0 {
		t.Fatalf("policy %s: want version 2012-10-17 and statements", s)
	}
	return p
}

// xrayActions are the only actions allowed on "*": X-Ray has no resource-level permissions for them.
var xrayActions = []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords"}

// ownedBy reports whether arn is one of own or lies beneath one of them ("/…" or ":…").
func ownedBy(arn string, own []string) bool {
	for _, o := range own {
		if arn == o || strings.HasPrefix(arn, o+"/") || strings.HasPrefix(arn, o+":") {
			return true
		}
	}
	return false
}

// allowProblems checks every Allow statement of p: named actions only, and resources of this stack only.
func allowProblems(where string, p testPolicy, own []string) []string {
	var out []string
	for _, st := range p.Statement {
		if st.Effect != "Allow" {
			continue
		}
		for _, a := range st.Action {
			if strings.Contains(a, "*") || !strings.Contains(a, ":") {
				out = append(out, fmt.Sprintf("%s %s: action %q is not a single named action", where, st.Sid, a))
			}
		}
		if slices.Equal(st.Resource, []string{"*"}) && slices.Equal(st.Action, xrayActions) {
			continue
		}
		if len(st.Resource) == 0 {
			out = append(out, fmt.Sprintf("%s %s: no resource", where, st.Sid))
		}
		for _, r := range st.Resource {
			if !ownedBy(r, own) {
				out = append(out, fmt.Sprintf("%s %s: resource %q is not a resource of this stack", where, st.Sid, r))
			}
		}
	}
	return out
}

func checkAllows(t *testing.T, where string, p testPolicy, own []string) {
	t.Helper()
	for _, problem := range allowProblems(where, p, own) {
		t.Error(problem)
	}
}

func TestIAMLeastPrivilege(t *testing.T) {
	cfg := newTestConfig(t)
	cfg["allowedSourceIps"] = `["203.0.113.0/24"]`
	m := mustRun(t, cfg)
	own := m.arns()

	policies := m.of("aws:iam/rolePolicy:RolePolicy")
	if len(policies) != 2 {
		t.Fatalf("%d role policies, want the function's and the API's", len(policies))
	}
	for _, rp := range policies {
		checkAllows(t, rp.Name, parsePolicy(t, rp.Inputs["policy"]), own)
	}
	checkAllows(t, "bucket policy", parsePolicy(t, m.one(t, "aws:s3/bucketPolicy:BucketPolicy").Inputs["policy"]), own)
	apiPolicy := m.one(t, "aws:apigateway/restApiPolicy:RestApiPolicy").Inputs["policy"]
	checkAllows(t, "API policy", parsePolicy(t, apiPolicy), own)

	for _, role := range m.of("aws:iam/role:Role") {
		for _, st := range parsePolicy(t, role.Inputs["assumeRolePolicy"]).Statement {
			svc, _ := get(st.Principal, "Service").(string)
			if !slices.Equal(st.Action, []string{"sts:AssumeRole"}) || !strings.HasSuffix(svc, ".amazonaws.com") {
				t.Errorf("role %s may be assumed by %v with %v; want one AWS service",
					role.Name, st.Principal, st.Action)
			}
		}
	}
	if n := len(m.of("aws:iam/rolePolicyAttachment:RolePolicyAttachment")); n != 0 {
		t.Errorf("%d managed policies attached; want none unless manageApiGatewayAccount is set", n)
	}

	api := parsePolicy(t, m.named(t, "aws:iam/rolePolicy:RolePolicy", "webhook-sqs").Inputs["policy"])
	queue := m.named(t, "aws:sqs/queue:Queue", "deliveries").State["arn"].(string)
	if len(api.Statement) != 1 || !slices.Equal(api.Statement[0].Action, []string{"sqs:SendMessage"}) ||
		!slices.Equal(api.Statement[0].Resource, []string{queue}) {
		t.Errorf("API role policy %+v: want only sqs:SendMessage on %s", api.Statement, queue)
	}
}

// TestIAMCheckCatchesWildcards makes sure the least-privilege check above can fail.
func TestIAMCheckCatchesWildcards(t *testing.T) {
	own := []string{"arn:aws:sqs:us-east-1:123456789012:q.fifo"}
	tests := []struct {
		name   string
		policy string
	}{
		{name: "action wildcard", policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Action":"sqs:*","Resource":"arn:aws:sqs:us-east-1:123456789012:q.fifo"}]}`},
		{name: "foreign resource", policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Action":["sqs:SendMessage"],"Resource":["arn:aws:sqs:us-east-1:123456789012:q.fifo-other"]}]}`},
		{name: "star resource", policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Action":["sqs:SendMessage"],"Resource":"*"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(allowProblems(tt.name, parsePolicy(t, tt.policy), own)) == 0 {
				t.Errorf("checkAllows accepted %s", tt.policy)
			}
		})
	}
}
