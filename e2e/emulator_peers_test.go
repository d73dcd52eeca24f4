//go:build unix

package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	miniserver "github.com/truora/minidyn/server"
)

// The peers of handler/internal/awspeers cannot be imported from here (Go's internal
// rule), so this file starts the same three peers for the emulator test.

// Fake credentials and region the function and the test clients use.
const (
	peerRegion    = "us-east-1"
	peerAccessKey = "AKIDLOOPBACKPEER"
	peerSecretKey = "loopback-peer-secret"
)

// startPeer serves h on plain HTTP at 127.0.0.1 (httptest binds loopback) until the test ends.
func startPeer(t *testing.T, h http.Handler) string {
	t.Helper()

	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	return srv.URL
}

// startS3Peer starts gofakes3 with one versioned bucket and returns its endpoint.
func startS3Peer(t *testing.T, bucket string) string {
	t.Helper()

	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	var versioning gofakes3.VersioningConfiguration
	versioning.SetEnabled(true)
	if err := backend.SetVersioningConfiguration(bucket, versioning); err != nil {
		t.Fatal(err)
	}

	return startPeer(t, gofakes3.New(backend).Server())
}

// startDynamoPeer starts the minidyn server with no tables and returns its endpoint.
func startDynamoPeer(t *testing.T) string {
	t.Helper()
	return startPeer(t, miniserver.NewServer())
}

// startSecretsPeer answers GetSecretValue for secrets (name → SecretString) over JSON 1.1.
func startSecretsPeer(t *testing.T, secrets map[string]string) string {
	t.Helper()

	return startPeer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		var in struct{ SecretId string }
		value, found := "", false
		if r.Header.Get("X-Amz-Target") == "secretsmanager.GetSecretValue" &&
			json.NewDecoder(r.Body).Decode(&in) == nil {
			value, found = secrets[in.SecretId]
		}
		if !found {
			w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{
				"__type": "ResourceNotFoundException", "Message": "Secrets Manager can't find the specified secret.",
			})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"ARN": "arn:aws:secretsmanager:" + peerRegion + ":000000000000:secret:" + in.SecretId, "Name": in.SecretId,
			"SecretString": value, "VersionId": "00000000-0000-0000-0000-000000000001",
			"VersionStages": []string{"AWSCURRENT"},
		})
	}))
}

func peerConfig() aws.Config {
	return aws.Config{
		Region:      peerRegion,
		Credentials: credentials.NewStaticCredentialsProvider(peerAccessKey, peerSecretKey, ""),
	}
}

func peerS3Client(endpoint string) *s3.Client {
	return s3.NewFromConfig(peerConfig(), func(o *s3.Options) {
		o.BaseEndpoint, o.UsePathStyle = aws.String(endpoint), true
	})
}

func peerDynamoClient(endpoint string) *dynamodb.Client {
	return dynamodb.NewFromConfig(peerConfig(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
}
