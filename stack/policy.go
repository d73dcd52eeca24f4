package main

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// policyDoc is an IAM policy document. Statements are built in Go and marshalled, never written as JSON text.
type policyDoc struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

// statement is one policy statement. Principal and Condition are left out when empty.
type statement struct {
	Sid       string                    `json:"Sid,omitempty"`
	Effect    string                    `json:"Effect"`
	Principal any                       `json:"Principal,omitempty"`
	Action    []string                  `json:"Action"`
	Resource  []string                  `json:"Resource,omitempty"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

// stmt is a statement whose resources are still outputs of other resources.
type stmt struct {
	statement
	Resources []pulumi.StringInput
}

// allow names the actions a principal may take on the given resources.
func allow(sid string, actions []string, resources ...pulumi.StringInput) stmt {
	return stmt{statement: statement{Sid: sid, Effect: "Allow", Action: actions}, Resources: resources}
}

// policyJSON resolves the resources of stmts and marshals the document.
func policyJSON(stmts ...stmt) pulumi.StringOutput {
	var inputs []any
	for _, s := range stmts {
		for _, r := range s.Resources {
			inputs = append(inputs, r)
		}
	}
	return pulumi.All(inputs...).ApplyT(func(vals []any) (string, error) {
		doc := policyDoc{Version: "2012-10-17"}
		i := 0
		for _, s := range stmts {
			st := s.statement
			for range s.Resources {
				st.Resource = append(st.Resource, vals[i].(string))
				i++
			}
			doc.Statement = append(doc.Statement, st)
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return "", fmt.Errorf("policy: %w", err)
		}
		return string(b), nil
	}).(pulumi.StringOutput)
}

// assumeRolePolicy lets the named AWS service assume a role.
func assumeRolePolicy(service string) pulumi.StringOutput {
	return policyJSON(stmt{statement: statement{
		Effect:    "Allow",
		Principal: map[string]string{"Service": service},
		Action:    []string{"sts:AssumeRole"},
	}})
}

// suffixed appends a literal suffix to an ARN output, e.g. "/*" for the objects of a bucket.
func suffixed(arn pulumi.StringOutput, suffix string) pulumi.StringOutput {
	return pulumi.Sprintf("%s%s", arn, suffix)
}
