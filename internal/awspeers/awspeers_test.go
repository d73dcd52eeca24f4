package awspeers_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/backlog-webhook/backlog-webhook/internal/awspeers"
)

func TestS3PeerIsVersioned(t *testing.T) {
	endpoint, bucket := awspeers.S3(t)
	client := awspeers.S3Client(endpoint)
	ctx := t.Context()

	vc, err := client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("GetBucketVersioning: %v", err)
	}
	if vc.Status != s3types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning status = %q, want Enabled", vc.Status)
	}

	var versions []string
	for _, body := range []string{"one", "two"} {
		out, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String("k"), Body: strings.NewReader(body),
		})
		if err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		versions = append(versions, aws.ToString(out.VersionId))
	}
	if versions[0] == "" || versions[0] == versions[1] {
		t.Fatalf("version ids = %q, want two distinct non-empty ids", versions)
	}

	got, err := client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("k"), VersionId: aws.String(versions[0]),
	})
	if err != nil {
		t.Fatalf("GetObject first version: %v", err)
	}
	defer got.Body.Close()
	b, _ := io.ReadAll(got.Body)
	if string(b) != "one" {
		t.Fatalf("first version body = %q, want %q", b, "one")
	}
}

func TestDynamoDBPeerAnswers(t *testing.T) {
	client := awspeers.DynamoDBClient(awspeers.DynamoDB(t))
	ctx := t.Context()

	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("t"),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: "S"}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: "HASH"}},
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}

	item := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}}
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: item}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: item})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	if len(out.Item) == 0 {
		t.Fatal("GetItem found nothing after PutItem")
	}
}

func TestSecretsPeer(t *testing.T) {
	peer := awspeers.StartSecretsT(t, map[string]string{"ssh": `{"a":"b"}`})
	client := awspeers.SecretsClient(peer.URL)

	tests := []struct {
		name     string
		id       string
		want     string
		notFound bool
	}{
		{name: "by name", id: "ssh", want: `{"a":"b"}`},
		{name: "by arn", id: "arn:aws:secretsmanager:us-east-1:000000000000:secret:ssh", want: `{"a":"b"}`},
		{name: "unknown", id: "other", notFound: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := client.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(tc.id)})
			if tc.notFound {
				var nf *smtypes.ResourceNotFoundException
				if !errors.As(err, &nf) {
					t.Fatalf("err = %v, want ResourceNotFoundException", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetSecretValue: %v", err)
			}
			if got := aws.ToString(out.SecretString); got != tc.want {
				t.Fatalf("SecretString = %q, want %q", got, tc.want)
			}
		})
	}

	if got := peer.Requests(); got != 3 {
		t.Fatalf("peer saw %d requests, want 3", got)
	}
}
