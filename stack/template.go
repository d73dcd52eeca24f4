package main

import (
	_ "embed"
	"strings"
)

// requestTemplateSource is the readable request template; requestTemplate is what API Gateway receives.
//
//go:embed vtl/request.vm
var requestTemplateSource string

// requestTemplate returns the request template without its "##" comment lines and with every other line
// trimmed and joined, so that indentation and line breaks never reach the SendMessage form it renders.
func requestTemplate() string {
	var b strings.Builder
	for line := range strings.SplitSeq(requestTemplateSource, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "##") {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

// queuedResponse is the body API Gateway answers with once SQS accepted the message.
const queuedResponse = `{"status":"queued"}`

// failedResponse is the body API Gateway answers with when SQS refused the message.
const failedResponse = `{"status":"not queued"}`
