package xray_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/backlog-webhook/backlog-webhook/handler/xray"
	"github.com/backlog-webhook/backlog-webhook/internal/awspeers"
)

// TestSDKTracerProvider makes real AWS SDK calls against loopback peers and checks that each
// call is one span, which the exporter sends as an "aws" subsegment of the caller's span.
func TestSDKTracerProvider(t *testing.T) {
	const secretValue = "SECRET-KEY-MATERIAL"
	endpoint, bucket := awspeers.S3(t)
	secrets := flakySecrets(t, secretValue)

	mem := tracetest.NewInMemoryExporter()
	tp := xray.NewTracerProvider(mem)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	sdk := xray.SDKTracerProvider(tp)
	s3c := awspeers.S3Client(endpoint, func(o *s3.Options) { o.TracerProvider = sdk })
	smc := awspeers.SecretsClient(secrets, func(o *secretsmanager.Options) { o.TracerProvider = sdk })

	h, err := xray.ParseHeader(lambdaHeader)
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := tp.Tracer("test").Start(xray.ContextWithHeader(context.Background(), h), "delivery")
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("DEMO/api/main.zip"),
		Body: strings.NewReader("zip")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket),
		Key: aws.String("DEMO/api/missing.zip")}); err == nil {
		t.Fatal("HeadObject of a missing key succeeded")
	}
	if _, err := smc.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("ssh")}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}

	spans := mem.GetSpans()
	if len(spans) != 4 {
		var names []string
		for _, s := range spans {
			names = append(names, s.Name)
		}
		t.Fatalf("recorded spans %q, want one per call and the parent", names)
	}
	d := startDaemon(t)
	exp := newExporter(t, d.addr())
	if err := exp.ExportSpans(context.Background(), spans.Snapshots()); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		operation string
		status    float64
		errFlag   bool
		fault     bool
		retries   float64
	}{
		{name: "S3", operation: "PutObject", status: 200},
		{name: "S3", operation: "HeadObject", status: 404, errFlag: true},
		{name: "Secrets Manager", operation: "GetSecretValue", status: 200, retries: 1},
	}
	var parentID string
	for _, tt := range tests {
		t.Run(tt.operation, func(t *testing.T) {
			raw, doc := d.next(t)
			if strings.Contains(string(raw), secretValue) {
				t.Errorf("datagram carries the secret value")
			}
			awsDoc, _ := doc["aws"].(map[string]any)
			httpDoc, _ := doc["http"].(map[string]any)
			resp, _ := httpDoc["response"].(map[string]any)
			if doc["namespace"] != "aws" || doc["name"] != tt.name || awsDoc["operation"] != tt.operation {
				t.Errorf("document %v is not the %s %s call", doc, tt.name, tt.operation)
			}
			if awsDoc["region"] != "ap-northeast-1" || resp["status"] != tt.status {
				t.Errorf("region %v status %v, want ap-northeast-1 and %v", awsDoc["region"], resp["status"], tt.status)
			}
			if (doc["error"] == true) != tt.errFlag || (doc["fault"] == true) != tt.fault {
				t.Errorf("error=%v fault=%v, want %v %v", doc["error"], doc["fault"], tt.errFlag, tt.fault)
			}
			if r, _ := awsDoc["retries"].(float64); r != tt.retries {
				t.Errorf("retries = %v, want %v", r, tt.retries)
			}
			if parentID == "" {
				parentID, _ = doc["parent_id"].(string)
			}
			if doc["parent_id"] != parentID || doc["type"] != "subsegment" {
				t.Errorf("parent_id = %v, want the delivery span %v", doc["parent_id"], parentID)
			}
		})
	}
	if _, doc := d.next(t); doc["id"] != parentID || doc["parent_id"] != "53995c3f42cd8ad8" {
		t.Errorf("delivery %v is not the calls' parent %s under the function segment", doc, parentID)
	}
}

// flakySecrets serves GetSecretValue on loopback, failing the first request with HTTP 500 so
// the client retries once.
func flakySecrets(t *testing.T, value string) string {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-RequestId", "req-secrets")
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"__type":"InternalServiceError","message":"try again"}`))
			return
		}
		_, _ = w.Write([]byte(`{"Name":"ssh","SecretString":"` + value + `"}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
