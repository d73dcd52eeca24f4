package layout_test

import (
	"fmt"

	"github.com/backlog-webhook/backlog-webhook/handler/layout"
)

func ExampleKey() {
	fmt.Println(layout.Key("DEMO", "api-server", "main"))
	fmt.Println(layout.Key("DEMO", "api-server", "feature/login"))
	fmt.Println(layout.SubfolderKey("DEMO", "api-server", "feature", "login"))
	t, _ := layout.Parse("DEMO/api-server/feature%2Flogin.zip")
	fmt.Printf("%+v\n", t)
	// Output:
	// DEMO/api-server/main.zip
	// DEMO/api-server/feature%2Flogin.zip
	// DEMO/api-server/feature/login.zip
	// {Project:DEMO Repo:api-server Branch:feature/login Subfolder:}
}
