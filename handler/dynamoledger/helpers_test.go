package dynamoledger_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/backlog-webhook/backlog-webhook/handler/dynamoledger"
	"github.com/backlog-webhook/backlog-webhook/internal/awspeers"
)

const table = "ledger"

// base is the time of the first test record; later records add minutes.
var base = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

func at(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }

// newLedger creates the ledger table on a fresh DynamoDB peer.
func newLedger(t *testing.T, opts ...dynamoledger.Option) (*dynamoledger.Ledger, *dynamodb.Client) {
	t.Helper()

	client := awspeers.DynamoDBClient(awspeers.DynamoDB(t))
	if _, err := client.CreateTable(t.Context(), dynamoledger.TableInput(table)); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}

	return dynamoledger.New(client, table, opts...), client
}

// rawItems returns the stored items of one partition, oldest first.
func rawItems(t *testing.T, client *dynamodb.Client, pk string) []map[string]types.AttributeValue {
	t.Helper()

	out, err := client.Query(t.Context(), &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
	})
	if err != nil {
		t.Fatalf("Query %s: %v", pk, err)
	}

	return out.Items
}

// expiresAt returns the item's TTL attribute, or 0 when it has none.
func expiresAt(t *testing.T, item map[string]types.AttributeValue) int64 {
	t.Helper()

	n, ok := item[dynamoledger.AttrExpiresAt].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		t.Fatalf("expiresAt %q: %v", n.Value, err)
	}

	return v
}

func stringAttr(item map[string]types.AttributeValue, name string) string {
	if s, ok := item[name].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}
