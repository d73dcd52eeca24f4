package rules_test

import (
	"fmt"

	"github.com/backlog-webhook/backlog-webhook/handler/rules"
)

func ExampleRules_Decide() {
	r, err := rules.Parse([]byte(`{"branches": ["main", "release/*"],
		"repositories": {"DEMO/api-server": {"branches": ["main"], "subfolders": true}}}`))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", r.Decide("DEMO", "web", "release/1.0"))
	fmt.Printf("%+v\n", r.Decide("DEMO", "api-server", "main"))
	fmt.Printf("%+v\n", r.Decide("DEMO", "web", "feature/x"))
	// Output:
	// {Archive:true Subfolders:false Reason:branch "release/1.0" matches "release/*"}
	// {Archive:true Subfolders:true Reason:branch "main" matches "main" for DEMO/api-server}
	// {Archive:false Subfolders:false Reason:branch "feature/x" matches no rule (main, release/*)}
}
