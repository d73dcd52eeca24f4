//go:build unix

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	ssh "golang.org/x/crypto/ssh"

	"github.com/backlog-webhook/backlog-webhook/handler/dynamoledger"
	"github.com/backlog-webhook/backlog-webhook/handler/gitserver"
	"github.com/backlog-webhook/backlog-webhook/handler/layout"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/internal/awspeers"
	"github.com/backlog-webhook/backlog-webhook/internal/rie"
)

// The repository, ledger table and secret of the emulator test.
const (
	emuProject = "DEMO"
	emuRepo    = "api-server"
	emuTable   = "backlog-webhook-ledger"
	emuSecret  = "backlog-webhook/ssh"
)

// emuStack is the function under the emulator with every peer it talks to.
type emuStack struct {
	emu    *emulator
	s3     *s3.Client
	bucket string
	ledger *dynamoledger.Ledger
	xray   *xrayDaemon
}

// startEmuStack starts the peers (S3, DynamoDB, Secrets Manager, an SSH Git server
// with DEMO/api-server) on loopback, builds the function and runs it under the emulator.
func startEmuStack(t *testing.T) *emuStack {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the function and the Lambda emulator; skipped with -short")
	}
	if _, err := exec.LookPath("git-upload-pack"); err != nil {
		t.Skip("the SSH Git server needs git-upload-pack on PATH")
	}
	ctx := t.Context()

	root := t.TempDir()
	if _, err := gitserver.SampleRepo(root, emuProject, emuRepo); err != nil {
		t.Fatal(err)
	}
	key, pub, err := gitserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	git, err := gitserver.Start(gitserver.Options{Root: root, AuthorizedKeys: []ssh.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = git.Close() })

	secret, err := json.Marshal(map[string]string{"id_ed25519": string(key), "known_hosts": string(git.KnownHosts())})
	if err != nil {
		t.Fatal(err)
	}
	secretsURL := awspeers.Secrets(t, map[string]string{emuSecret: string(secret)})
	s3URL, bucket := awspeers.S3(t)
	dynamoURL := awspeers.DynamoDB(t)
	dynamo := awspeers.DynamoDBClient(dynamoURL)
	if _, err := dynamo.CreateTable(ctx, dynamoledger.TableInput(emuTable)); err != nil {
		t.Fatalf("create ledger table: %v", err)
	}

	daemon := startXRayDaemon(t)
	home := t.TempDir()
	env := []string{
		"AWS_XRAY_DAEMON_ADDRESS=" + daemon.addr(), "AWS_LAMBDA_FUNCTION_NAME=backlog-webhook-archive",
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + home,
		"AWS_REGION=" + awspeers.Region, "AWS_ACCESS_KEY_ID=" + awspeers.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + awspeers.SecretAccessKey, "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_S3=" + s3URL, "AWS_ENDPOINT_URL_DYNAMODB=" + dynamoURL,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + secretsURL,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=120", "AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_LEVEL=DEBUG",
		"DYNAMODB_TABLE_NAME=" + emuTable, "S3_BUCKET_NAME=" + bucket,
		"BACKLOG_GIT_SERVER_URL=" + git.ServerURL("git"), "SECRET_MANAGER_SSH_SECRET_NAME=" + emuSecret,
		"BRANCH_RULES=" + `{"branches":["main"]}`,
	}
	emu := startEmulator(t, rie.Build(t), rie.BuildBootstrap(t, runtime.GOARCH), env)

	return &emuStack{emu: emu, s3: awspeers.S3Client(s3URL), bucket: bucket, ledger: dynamoledger.New(dynamo, emuTable),
		xray: daemon}
}

// emuPushBody is a project webhook (type 12) for a push to main of DEMO/name; id makes
// the body, and so the delivery, distinct.
func emuPushBody(id int, name string) string {
	return fmt.Sprintf(`{"id":%d,"project":{"id":4242,"projectKey":%q},"type":12,`+
		`"content":{"change_type":"update","ref":"refs/heads/main","repository":{"id":777,"name":%q},`+
		`"revision_count":1,"revision_type":"commit","revisions":[{"rev":"%040d","comment":"change"}]},`+
		`"notifications":[],"createdUser":{"id":1001,"name":"Taro Yamada"},"created":"2026-11-30T09:15:00Z"}`,
		id, emuProject, name, id)
}

// emuEvent wraps bodies as one FIFO batch of message group DEMO/api-server.
func emuEvent(prefix string, bodies ...string) events.SQSEvent {
	json := "application/json"
	var ev events.SQSEvent
	for i, b := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: prefix + "-" + strconv.Itoa(i+1),
			Body:      b,
			Attributes: map[string]string{
				"MessageGroupId": emuProject + "/" + emuRepo, "SentTimestamp": "1764763200000", "ApproximateReceiveCount": "1",
			},
			MessageAttributes: map[string]events.SQSMessageAttribute{"contentType": {StringValue: &json, DataType: "String"}},
			EventSource:       "aws:sqs",
		})
	}

	return ev
}

func emuDeliveryID(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

// versions lists the version ids of key in the bucket, newest first.
func (s *emuStack) versions(ctx context.Context, t *testing.T, key string) []string {
	t.Helper()

	out, err := s.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &s.bucket, Prefix: aws.String(key)})
	if err != nil {
		t.Fatalf("list versions of %s: %v", key, err)
	}
	var ids []string
	for _, v := range out.Versions {
		if aws.ToString(v.Key) == key {
			ids = append(ids, aws.ToString(v.VersionId))
		}
	}

	return ids
}

// records returns the ledger records of one delivery.
func (s *emuStack) records(ctx context.Context, t *testing.T, delivery string) []pipeline.Record {
	t.Helper()

	all, err := s.ledger.History(ctx, pipeline.Query{Project: emuProject, Limit: 100})
	if err != nil {
		t.Fatalf("ledger history: %v", err)
	}

	return slices.DeleteFunc(all, func(r pipeline.Record) bool { return r.Delivery != delivery })
}

func emuFailures(res invokeResult) []string {
	ids := []string{}
	for _, f := range res.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}

	return ids
}

// TestLambdaEmulator runs the built function under the Lambda Runtime Interface
// Emulator against loopback peers and checks what lands in S3 and DynamoDB.
// The cases share one function instance and run in order.
func TestLambdaEmulator(t *testing.T) {
	s := startEmuStack(t)
	ctx := t.Context()
	key := layout.Key(emuProject, emuRepo, "main")
	first := emuPushBody(1, emuRepo)

	t.Run("push archives and records the version", func(t *testing.T) {
		res := s.emu.invoke(ctx, t, emuEvent("push", first))
		if res.ErrorMessage != "" || len(res.BatchItemFailures) != 0 {
			t.Fatalf("invocation failed: %+v", res)
		}
		versions := s.versions(ctx, t, key)
		if len(versions) != 1 {
			t.Fatalf("%s has versions %q, want one", key, versions)
		}
		recs := s.records(ctx, t, emuDeliveryID(first))
		if len(recs) != 1 || recs[0].Outcome != pipeline.OutcomeArchived || recs[0].Version != versions[0] ||
			recs[0].Key != key || recs[0].Commit == "" {
			t.Fatalf("ledger records %+v, want one archived record of %s version %s", recs, key, versions[0])
		}
	})

	t.Run("redelivery stores nothing new", func(t *testing.T) {
		res := s.emu.invoke(ctx, t, emuEvent("again", first, first))
		if res.ErrorMessage != "" || len(res.BatchItemFailures) != 0 {
			t.Fatalf("invocation failed: %+v", res)
		}
		if versions := s.versions(ctx, t, key); len(versions) != 1 {
			t.Errorf("%s has versions %q after redelivery, want one", key, versions)
		}
		if recs := s.records(ctx, t, emuDeliveryID(first)); len(recs) != 1 {
			t.Errorf("ledger has %d records of the delivery, want one: %+v", len(recs), recs)
		}
	})

	t.Run("failure returns the failed and every later message", func(t *testing.T) {
		ok, missing, later := emuPushBody(2, emuRepo), emuPushBody(3, "no-such-repo"), emuPushBody(4, emuRepo)
		res := s.emu.invoke(ctx, t, emuEvent("mixed", ok, missing, later))
		if res.ErrorMessage != "" {
			t.Fatalf("invocation failed: %+v", res)
		}
		if got, want := emuFailures(res), []string{"mixed-2", "mixed-3"}; !slices.Equal(got, want) {
			t.Errorf("batch item failures %q, want %q", got, want)
		}
		if recs := s.records(ctx, t, emuDeliveryID(ok)); len(recs) != 1 {
			t.Errorf("first message: %d ledger records, want one (it was processed): %+v", len(recs), recs)
		}
		if recs := s.records(ctx, t, emuDeliveryID(later)); len(recs) != 0 {
			t.Errorf("message after the failure was processed: %+v", recs)
		}
	})

	t.Run("push without changes keeps one version", func(t *testing.T) {
		body := emuPushBody(5, emuRepo)
		res := s.emu.invoke(ctx, t, emuEvent("same", body))
		if res.ErrorMessage != "" || len(res.BatchItemFailures) != 0 {
			t.Fatalf("invocation failed: %+v", res)
		}
		versions := s.versions(ctx, t, key)
		if len(versions) != 1 {
			t.Errorf("%s has versions %q, want still one", key, versions)
		}
		recs := s.records(ctx, t, emuDeliveryID(body))
		if len(recs) != 1 || recs[0].Outcome != pipeline.OutcomeUnchanged || recs[0].Version != versions[0] {
			t.Errorf("ledger records %+v, want one unchanged record naming version %q", recs, versions)
		}
	})

	t.Run("spans reach the X-Ray daemon", func(t *testing.T) { checkXRayExport(ctx, t, s) })
}
