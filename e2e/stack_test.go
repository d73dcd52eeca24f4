package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/backlog-webhook/backlog-webhook/handler/layout"
)

// stackWait bounds how long the test waits for API Gateway to serve a new stage and for the archive.
const stackWait = 10 * time.Minute

// TestStackDeployed deploys a throwaway stack to AWS, posts a Backlog push webhook to its URL and waits
// for the archive in S3 and its record in DynamoDB. Skipped unless the environment names a real
// Backlog repository and AWS credentials; see stackEnvOrSkip.
func TestStackDeployed(t *testing.T) {
	e := stackEnvOrSkip(t)
	d := stackDeploy(t, e)
	ctx := t.Context()

	url := d.output(t, "webhookUrl")
	if !d.Outputs["webhookUrl"].Secret {
		t.Error("webhookUrl is not a secret output")
	}
	body := stackPushBody(t, e)
	status, answer := stackPostUntilServed(ctx, t, url, "application/json", body)
	if status != http.StatusOK || !strings.Contains(answer, "queued") {
		t.Fatalf("webhook answered %d %q, want 200 queued", status, answer)
	}

	stackProbeRefusals(ctx, t, url, body)

	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(e.Region))
	if err != nil {
		t.Fatalf("AWS config: %v", err)
	}
	key := layout.Key(e.Project, e.Repo, e.Branch)
	bucket := d.output(t, "bucketName")
	stackEventually(ctx, t, "archive s3://"+bucket+"/"+key, func() (bool, string) {
		_, err := s3.NewFromConfig(cfg).HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
		return err == nil, fmt.Sprint(err)
	})

	table := d.output(t, "tableName")
	stackEventually(ctx, t, "ledger record in "+table, func() (bool, string) {
		return stackLedgerHas(ctx, dynamodb.NewFromConfig(cfg), table, e.Project+"/"+e.Repo)
	})
}

// stackProbeRefusals posts what the API must refuse and checks each answer: a 4xx with a JSON reason that
// holds no token. The push body is reused where only the URL or method is wrong.
func stackProbeRefusals(ctx context.Context, t *testing.T, url, body string) {
	t.Helper()
	token := url[strings.LastIndex(url, "/")+1:]
	wrong := url[:strings.LastIndex(url, "/")+1] + stackRandomHex(t, 24)
	base := url[:strings.LastIndex(url, "/")]
	const notFound = "not found: webhooks are accepted by POST at /v1/backlog-webhook/<token>"
	for _, probe := range []struct {
		name, method, url, contentType, body string
		status                               int
		reason                               string // the answer's error starts with it
	}{
		{name: "wrong token", method: http.MethodPost, url: wrong, contentType: "application/json", body: body,
			status: http.StatusNotFound, reason: notFound},
		{name: "no token", method: http.MethodPost, url: base, contentType: "application/json", body: body,
			status: http.StatusNotFound, reason: notFound},
		{name: "GET on the webhook", method: http.MethodGet, url: url, contentType: "application/json",
			status: http.StatusNotFound, reason: notFound},
		{name: "malformed JSON", method: http.MethodPost, url: url, contentType: "application/json",
			body: `{"type":12,`, status: http.StatusBadRequest, reason: "malformed body: "},
		{name: "JSON that is no object", method: http.MethodPost, url: url, contentType: "application/json",
			body: `[1,2]`, status: http.StatusBadRequest, reason: "malformed body: "},
		{name: "unsupported media type", method: http.MethodPost, url: url, contentType: "text/plain",
			body: body, status: http.StatusUnsupportedMediaType, reason: "unsupported media type: "},
	} {
		got, answer := stackRequest(ctx, t, probe.method, probe.url, probe.contentType, probe.body)
		var reply struct{ Error string }
		err := json.Unmarshal([]byte(answer), &reply)
		switch {
		case got != probe.status:
			t.Errorf("%s: API Gateway answered %d %s, want %d", probe.name, got, answer, probe.status)
		case err != nil || !strings.HasPrefix(reply.Error, probe.reason):
			t.Errorf("%s: answer %s, want JSON with an error starting %q", probe.name, answer, probe.reason)
		}
		if strings.Contains(answer, token) {
			t.Errorf("%s: the answer holds the webhook token", probe.name)
		}
	}

	// Bodies the handler will reject are still queued, so the ledger can say why.
	for _, probe := range []struct{ name, contentType, body string }{
		{name: "JSON object that is no webhook", contentType: "application/json", body: `{"hello":"world"}`},
		{name: "repository webhook whose payload is not JSON", contentType: "application/x-www-form-urlencoded",
			body: "payload=%7Bnot+json"},
		{name: "payload with a malformed escape", contentType: "application/x-www-form-urlencoded",
			body: "payload=%7B%zz"},
	} {
		got, answer := stackRequest(ctx, t, http.MethodPost, url, probe.contentType, probe.body)
		if got != http.StatusOK || !strings.Contains(answer, "queued") {
			t.Errorf("%s: answered %d %s, want 200 queued", probe.name, got, answer)
		}
	}
}

// stackPushBody is a project webhook (type 12) announcing a push to the configured branch.
func stackPushBody(t *testing.T, e stackEnv) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"id":      time.Now().UnixNano() % 1_000_000_000,
		"project": map[string]any{"id": 1, "projectKey": e.Project, "name": e.Project},
		"type":    12,
		"content": map[string]any{
			"change_type": "update", "ref": "refs/heads/" + e.Branch, "revision_type": "commit",
			"repository":     map[string]any{"id": 1, "name": e.Repo},
			"revision_count": 0, "revisions": []any{},
		},
		"notifications": []any{},
		"createdUser":   map[string]any{"name": "e2e"},
		"created":       time.Now().UTC().Format(time.RFC3339),
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func stackRequest(ctx context.Context, t *testing.T, method, url, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b)
}

// stackPostUntilServed posts until the new stage answers with something other than a transport error,
// its not-yet-deployed 403 or a 404 of a route not yet served everywhere; a new API can take a minute.
func stackPostUntilServed(ctx context.Context, t *testing.T, url, contentType, body string) (int, string) {
	t.Helper()
	var status int
	var answer string
	stackEventually(ctx, t, "the webhook URL to be served", func() (bool, string) {
		status, answer = stackRequest(ctx, t, http.MethodPost, url, contentType, body)
		served := status != 0 && status != http.StatusForbidden && status != http.StatusNotFound
		return served, fmt.Sprintf("%d %s", status, answer)
	})
	return status, answer
}

// stackEventually polls check every few seconds until it holds or stackWait passes.
func stackEventually(ctx context.Context, t *testing.T, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(stackWait)
	last := ""
	for {
		ok, detail := check()
		if ok {
			return
		}
		last = detail
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v; last: %s", what, stackWait, last)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(5 * time.Second):
		}
	}
}

// stackLedgerHas reports whether the ledger holds an archived record of repo; otherwise it describes
// what it found, so a rejected or failed delivery is visible in the failure message.
func stackLedgerHas(ctx context.Context, db *dynamodb.Client, table, repo string) (bool, string) {
	out, err := db.Scan(ctx, &dynamodb.ScanInput{
		TableName:        aws.String(table),
		FilterExpression: aws.String("repoKey = :r"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":r": &ddbtypes.AttributeValueMemberS{Value: repo},
		},
	})
	if err != nil {
		return false, err.Error()
	}
	var seen []string
	for _, item := range out.Items {
		outcome := stackAttr(item, "outcome")
		if outcome == "archived" || outcome == "unchanged" {
			return true, ""
		}
		seen = append(seen, outcome+": "+stackAttr(item, "reason"))
	}
	if len(seen) == 0 {
		return false, errors.New("no record yet").Error()
	}
	return false, strings.Join(seen, "; ")
}

func stackAttr(item map[string]ddbtypes.AttributeValue, name string) string {
	if s, ok := item[name].(*ddbtypes.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}
