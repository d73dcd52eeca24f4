package main

import (
	_ "embed"
	"strings"
)

// requestTemplateSource is the readable request template; requestTemplate is what API Gateway receives.
//
//go:embed vtl/request.vm
var requestTemplateSource string

// queueRefusedSource is the readable template of the answer to a message SQS refused with 400.
//
//go:embed vtl/queue-refused.vm
var queueRefusedSource string

// requestTemplate returns the request template as API Gateway receives it (see joinTemplate).
func requestTemplate() string { return joinTemplate(requestTemplateSource) }

// queueRefusedTemplate returns the integration response template for SQS 400 answers (see joinTemplate).
func queueRefusedTemplate() string { return joinTemplate(queueRefusedSource) }

// joinTemplate returns a template without its "##" comment lines and with every other line trimmed and
// joined, so that indentation and line breaks never reach what it renders.
func joinTemplate(src string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(src, "\n") {
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

// failedResponse is the body API Gateway answers with when SQS failed or refused the message for a reason
// of its own. Its "error" has the wording of the local server's answer in the same case.
const failedResponse = `{"status":"not queued","error":"queue unavailable; retry later"}`
