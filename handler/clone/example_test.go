package clone_test

import (
	"fmt"

	"github.com/backlog-webhook/backlog-webhook/handler/clone"
)

func ExampleRepoURL() {
	for _, server := range []string{"SPACE@SPACE.git.backlog.com", "git@127.0.0.1:2222", "ssh://git@git.example.com"} {
		url, err := clone.RepoURL(server, "DEMO", "api")
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(url)
	}
	// Output:
	// SPACE@SPACE.git.backlog.com:/DEMO/api.git
	// ssh://git@127.0.0.1:2222/DEMO/api.git
	// ssh://git@git.example.com/DEMO/api.git
}
