package pipeline_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/backlog-webhook/backlog-webhook/handler/dynamoledger"
	"github.com/backlog-webhook/backlog-webhook/handler/internal/faults"
	"github.com/backlog-webhook/backlog-webhook/handler/internal/localenv"
	"github.com/backlog-webhook/backlog-webhook/handler/layout"
	"github.com/backlog-webhook/backlog-webhook/handler/localdb"
	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/rules"
	"github.com/backlog-webhook/backlog-webhook/handler/s3store"
	"github.com/backlog-webhook/backlog-webhook/handler/server"
	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
	"github.com/backlog-webhook/backlog-webhook/internal/awspeers"
)

const ledgerTable = "ledger"

// awsEnv is the pipeline over s3store and dynamoledger, each talking to its loopback
// peer through a fault-injecting proxy, with a direct S3 client to inspect the bucket.
type awsEnv struct {
	*localenv.Env
	s3      *s3.Client // straight to the peer
	bucket  string
	s3Proxy *faults.HTTPProxy
	dbProxy *faults.HTTPProxy
	store   *s3store.Store
	ledger  *dynamoledger.Ledger
}

func newAWSEnv(t *testing.T, s3Faults, dbFaults []faults.Fault) *awsEnv {
	t.Helper()
	e := &awsEnv{Env: localenv.New(t, nil)}
	var endpoint string
	endpoint, e.bucket = awspeers.S3(t)
	e.s3 = awspeers.S3Client(endpoint)
	var err error
	if e.s3Proxy, err = faults.StartHTTP(endpoint, s3Faults...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.s3Proxy.Close() })
	e.store = s3store.New(awspeers.S3Client(e.s3Proxy.URL()), e.bucket, s3store.WithPartSize(5<<20))

	dynamo := awspeers.DynamoDB(t)
	create := dynamoledger.TableInput(ledgerTable)
	if _, err := awspeers.DynamoDBClient(dynamo).CreateTable(t.Context(), create); err != nil {
		t.Fatal(err)
	}
	if e.dbProxy, err = faults.StartHTTP(dynamo, dbFaults...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.dbProxy.Close() })
	e.ledger = dynamoledger.New(awspeers.DynamoDBClient(e.dbProxy.URL()), ledgerTable)
	return e
}

func (e *awsEnv) pipeline() *pipeline.Pipeline {
	return pipeline.New(pipeline.Config{GitServer: e.Git.ServerURL("git"), Rules: rules.Default()},
		e.store, e.ledger, e.Keys(nil), nil)
}

// uploadsInProgress lists the multipart uploads the bucket still holds.
func (e *awsEnv) uploadsInProgress(t *testing.T) int {
	t.Helper()
	out, err := e.s3.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(e.bucket)})
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	return len(out.Uploads)
}

// versions lists every stored version of key, straight from the peer.
func (e *awsEnv) versions(t *testing.T, key string) []pipeline.Object {
	t.Helper()
	vs, err := s3store.New(e.s3, e.bucket).Versions(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestS3FailureInMultipartUploadLeavesNothingAndRetrySucceeds(t *testing.T) {
	e := newAWSEnv(t, []faults.Fault{{Match: faults.UploadPartNumber(2)}}, nil)
	c := e.Commit(t, "DEMO", "big", "main", bigFiles(1, 12<<20)) // three parts of 5 MiB
	key := layout.Key("DEMO", "big", "main")
	p := e.pipeline()

	db, err := localdb.Open(filepath.Join(t.TempDir(), "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, _, err := db.Enqueue("DEMO/big", push(t, "DEMO", "big", "main", c)); err != nil {
		t.Fatal(err)
	}

	var attempts []error
	process := func(ctx context.Context, d webhook.Delivery) error {
		_, err := p.Handle(ctx, d)
		attempts = append(attempts, err)
		if err != nil { // what the failed attempt left behind, before the retry
			if n := e.uploadsInProgress(t); n != 0 {
				t.Errorf("after the failed upload %d multipart uploads remain; want them aborted", n)
			}
			if vs := e.versions(t, key); len(vs) != 0 {
				t.Errorf("after the failed upload the bucket holds %d versions of %s; want none", len(vs), key)
			}
			if _, herr := e.store.Head(ctx, key); !errors.Is(herr, pipeline.ErrNotFound) {
				t.Errorf("Head after the failed upload: %v, want ErrNotFound", herr)
			}
			e.s3Proxy.Heal()
		}
		return err
	}
	w := server.NewWorker(db, process, server.WorkerConfig{MaxAttempts: 3,
		Backoff: func(int) time.Duration { return time.Millisecond }}, nil)
	runUntilIdle(t, w)

	if len(attempts) != 2 || attempts[0] == nil || attempts[1] != nil {
		t.Fatalf("attempts %v, want one failure then one success", attempts)
	}
	if e.s3Proxy.Failed() == 0 {
		t.Fatal("the fault never fired: the archive was not uploaded in parts")
	}
	vs := e.versions(t, key)
	head, err := e.store.Head(t.Context(), key)
	if err != nil || len(vs) != 1 || head.Version != vs[0].Version || head.Meta.Commit != c {
		t.Fatalf("versions %+v, head %+v (err %v); want exactly one version of commit %s", vs, head, err, c)
	}
	if n := e.uploadsInProgress(t); n != 0 {
		t.Fatalf("%d multipart uploads remain", n)
	}
	if p, err := db.Pending(); err != nil || len(p) != 0 {
		t.Fatalf("%d messages still queued (err %v)", len(p), err)
	}
	assertOneArchivedRecord(t, e.ledger, "DEMO", "big", head.Version)
}

func TestLedgerFailureAfterS3UploadIsCompletedByRedelivery(t *testing.T) {
	e := newAWSEnv(t, nil, []faults.Fault{{Match: faults.DynamoDBOp("TransactWriteItems"), After: 1}})
	c := e.Commit(t, "DEMO", "api", "main", files("one\n"))
	key := layout.Key("DEMO", "api", "main")
	d := push(t, "DEMO", "api", "main", c)
	p := e.pipeline()

	if _, err := p.Handle(t.Context(), d); err == nil {
		t.Fatal("a ledger write that fails must fail the delivery so it is redelivered")
	}
	if e.dbProxy.Failed() == 0 {
		t.Fatal("the ledger fault never fired")
	}
	if vs := e.versions(t, key); len(vs) != 1 {
		t.Fatalf("after the upload %d versions exist, want 1", len(vs))
	}

	e.dbProxy.Heal()
	res, err := p.Handle(t.Context(), d)
	if err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	if len(res.Records) != 1 || res.Records[0].Outcome != pipeline.OutcomeArchived || res.Records[0].Commit != c {
		t.Fatalf("redelivery recorded %+v, want the archived version of %s", res.Records, c)
	}
	vs := e.versions(t, key)
	if len(vs) != 1 || vs[0].Version != res.Records[0].Version {
		t.Fatalf("versions %+v, want exactly the recorded %s", vs, res.Records[0].Version)
	}
	assertOneArchivedRecord(t, e.ledger, "DEMO", "api", vs[0].Version)

	// A third delivery of the same webhook changes nothing.
	if _, err := p.Handle(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if vs := e.versions(t, key); len(vs) != 1 {
		t.Fatalf("a third delivery made %d versions, want 1", len(vs))
	}
	assertOneArchivedRecord(t, e.ledger, "DEMO", "api", vs[0].Version)
}

// assertOneArchivedRecord checks the ledger holds exactly one record for PROJECT/repo and that it
// is the archived record of version.
func assertOneArchivedRecord(t *testing.T, l pipeline.Historian, project, repo, version string) {
	t.Helper()
	hist, err := l.History(t.Context(), pipeline.Query{Project: project, Repo: repo})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Outcome != pipeline.OutcomeArchived || hist[0].Version != version {
		t.Fatalf("ledger holds %+v, want one archived record of version %s", hist, version)
	}
}

// runUntilIdle runs w until it has nothing queued or running, then stops it.
func runUntilIdle(t *testing.T, w *server.Worker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	wait, stop := context.WithTimeout(context.Background(), 2*time.Minute)
	defer stop()
	err := w.WaitIdle(wait)
	cancel()
	if rerr := <-done; rerr != nil {
		t.Fatal(rerr)
	}
	if err != nil {
		t.Fatalf("worker never became idle: %v", err)
	}
}
