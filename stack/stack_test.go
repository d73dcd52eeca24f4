package main

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/backlog-webhook/backlog-webhook/handler/dynamoledger"
)

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// get walks a dotted path ("a.b.0.c") through plain values.
func get(v any, path string) any {
	for part := range strings.SplitSeq(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// want fails the test when the value at path in r's inputs is not want.
func want(t *testing.T, r registered, path string, want any) {
	t.Helper()
	if got := get(r.Inputs, path); !reflect.DeepEqual(got, want) {
		t.Errorf("%s %s: %s = %#v, want %#v", r.Type, r.Name, path, got, want)
	}
}

func mustRun(t *testing.T, cfg testConfig) *recorder {
	t.Helper()
	m, built, err := run(t, cfg)
	if err != nil {
		t.Fatalf("program: %v", err)
	}
	if !built {
		t.Fatal("the program did not build the handler")
	}
	return m
}

func TestQueues(t *testing.T) {
	cfg := newTestConfig(t)
	cfg["lambdaTimeoutSeconds"] = "120"
	cfg["maxReceives"] = "7"
	m := mustRun(t, cfg)

	main := m.named(t, "aws:sqs/queue:Queue", "deliveries")
	dlq := m.named(t, "aws:sqs/queue:Queue", "deliveries-dlq")
	for _, q := range []registered{main, dlq} {
		want(t, q, "fifoQueue", true)
		want(t, q, "contentBasedDeduplication", true)
		want(t, q, "sqsManagedSseEnabled", true)
		if name, _ := q.Inputs["name"].(string); !strings.HasSuffix(name, ".fifo") || len(name) > 80 {
			t.Errorf("queue name %q: want a FIFO name of at most 80 characters", name)
		}
	}
	want(t, main, "visibilityTimeoutSeconds", 720.0)

	var redrive struct {
		Target string `json:"deadLetterTargetArn"`
		Max    int    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(main.Inputs["redrivePolicy"].(string)), &redrive); err != nil {
		t.Fatalf("redrive policy: %v", err)
	}
	if redrive.Target != dlq.State["arn"] || redrive.Max != 7 {
		t.Errorf("redrive = %+v, want target %v and 7 receives", redrive, dlq.State["arn"])
	}
}

func TestDeadLetterAlarm(t *testing.T) {
	tests := []struct {
		name  string
		email string
	}{
		{name: "without mail", email: ""},
		{name: "mailed", email: "ops@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := newTestConfig(t)
			if tt.email != "" {
				cfg["alarmEmail"] = tt.email
			}
			m := mustRun(t, cfg)

			alarm := m.one(t, "aws:cloudwatch/metricAlarm:MetricAlarm")
			dlq := m.named(t, "aws:sqs/queue:Queue", "deliveries-dlq")
			want(t, alarm, "namespace", "AWS/SQS")
			want(t, alarm, "metricName", "ApproximateNumberOfMessagesVisible")
			want(t, alarm, "dimensions.QueueName", dlq.State["name"])
			want(t, alarm, "threshold", 0.0)
			want(t, alarm, "comparisonOperator", "GreaterThanThreshold")

			topics := m.of("aws:sns/topic:Topic")
			if tt.email == "" {
				if len(topics) != 0 || get(alarm.Inputs, "alarmActions.0") != nil {
					t.Errorf("no alarm e-mail configured, yet %d topics and actions %v", len(topics),
						alarm.Inputs["alarmActions"])
				}
				return
			}
			sub := m.one(t, "aws:sns/topicSubscription:TopicSubscription")
			want(t, sub, "protocol", "email")
			want(t, sub, "endpoint", tt.email)
			want(t, alarm, "alarmActions", []any{m.one(t, "aws:sns/topic:Topic").State["arn"]})
		})
	}
}

func TestBucket(t *testing.T) {
	cfg := newTestConfig(t)
	cfg["retentionDays"] = "21"
	m := mustRun(t, cfg)
	bucket := m.one(t, "aws:s3/bucketV2:BucketV2")
	id := bucket.ID

	for _, typ := range []string{
		"aws:s3/bucketVersioningV2:BucketVersioningV2",
		"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
		"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
		"aws:s3/bucketOwnershipControls:BucketOwnershipControls",
		"aws:s3/bucketPolicy:BucketPolicy",
		"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
	} {
		want(t, m.one(t, typ), "bucket", id)
	}
	want(t, m.one(t, "aws:s3/bucketVersioningV2:BucketVersioningV2"), "versioningConfiguration.status", "Enabled")
	want(t, m.one(t, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"),
		"rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "AES256")
	block := m.one(t, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
	for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
		want(t, block, k, true)
	}
	want(t, m.one(t, "aws:s3/bucketOwnershipControls:BucketOwnershipControls"), "rule.objectOwnership",
		"BucketOwnerEnforced")

	doc := parsePolicy(t, m.one(t, "aws:s3/bucketPolicy:BucketPolicy").Inputs["policy"])
	arn := bucket.State["arn"].(string)
	if len(doc.Statement) != 1 {
		t.Fatalf("bucket policy has %d statements, want the TLS rule only", len(doc.Statement))
	}
	st := doc.Statement[0]
	if st.Effect != "Deny" || get(st.Condition, "Bool.aws:SecureTransport") != "false" ||
		!slices.Equal(st.Resource, []string{arn, arn + "/*"}) {
		t.Errorf("bucket policy %+v does not deny non-TLS access to the bucket and its objects", st)
	}

	lc := m.one(t, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2")
	var noncurrent, abort bool
	for _, rule := range lc.Inputs["rules"].([]any) {
		if get(rule, "status") != "Enabled" {
			t.Errorf("lifecycle rule %v is not enabled", get(rule, "id"))
		}
		if get(rule, "expiration.days") != nil || get(rule, "expiration.date") != nil {
			t.Errorf("lifecycle rule %v expires current versions", get(rule, "id"))
		}
		noncurrent = noncurrent || get(rule, "noncurrentVersionExpiration.noncurrentDays") == 21.0
		abort = abort || get(rule, "abortIncompleteMultipartUpload.daysAfterInitiation") != nil
	}
	if !noncurrent || !abort {
		t.Errorf("lifecycle: noncurrent expiry after 21 days %v, abort incomplete uploads %v; want both",
			noncurrent, abort)
	}
}

func TestTable(t *testing.T) {
	m := mustRun(t, newTestConfig(t))
	table := m.one(t, "aws:dynamodb/table:Table")
	want(t, table, "billingMode", "PAY_PER_REQUEST")
	want(t, table, "pointInTimeRecovery.enabled", true)
	want(t, table, "serverSideEncryption.enabled", true)
	want(t, table, "ttl.attributeName", "expiresAt")
	want(t, table, "ttl.enabled", true)
	want(t, table, "hashKey", "pk")
	want(t, table, "rangeKey", "sk")

	declared := map[string]bool{}
	for _, a := range table.Inputs["attributes"].([]any) {
		declared[get(a, "name").(string)] = true
	}
	indexes := map[string]string{}
	for _, ix := range table.Inputs["globalSecondaryIndexes"].([]any) {
		hash := get(ix, "hashKey").(string)
		if !declared[hash] {
			t.Errorf("index %v hashes on undeclared attribute %s", get(ix, "name"), hash)
		}
		indexes[get(ix, "name").(string)] = hash
	}
	wantIndexes := map[string]string{
		dynamoledger.IndexCommit:  dynamoledger.AttrCommit,
		dynamoledger.IndexRepo:    dynamoledger.AttrRepoKey,
		dynamoledger.IndexProject: dynamoledger.AttrProject,
		dynamoledger.IndexAll:     dynamoledger.AttrScope,
	}
	if !reflect.DeepEqual(indexes, wantIndexes) {
		t.Errorf("indexes %v, want the ledger's %v", indexes, wantIndexes)
	}

	// The function may query every index, and only those of this table.
	arn := table.State["arn"].(string)
	var granted []string
	fnPolicy := m.named(t, "aws:iam/rolePolicy:RolePolicy", "function").Inputs["policy"]
	for _, st := range parsePolicy(t, fnPolicy).Statement {
		if st.Sid == "Ledger" {
			granted = st.Resource
		}
	}
	for name := range wantIndexes {
		if !slices.Contains(granted, arn+"/index/"+name) {
			t.Errorf("function may not query index %s: ledger grants %v", name, granted)
		}
	}
}
