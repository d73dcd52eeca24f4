package main

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dynamodb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/backlog-webhook/backlog-webhook/handler/dynamoledger"
)

// ledgerActions are what the ledger calls: GetItem, Query, and TransactWriteItems, which IAM authorizes
// through the put, update, delete and condition-check actions of the items it writes.
var ledgerActions = []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem",
	"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"}

// ledgerTableArgs turns the ledger's own CreateTable request (dynamoledger.TableInput) into table
// arguments, so the stack and the ledger cannot disagree on keys or indexes. The stack adds TTL,
// point-in-time recovery and encryption.
func ledgerTableArgs() (*dynamodb.TableArgs, []string) {
	in := dynamoledger.TableInput("ledger")
	args := &dynamodb.TableArgs{
		BillingMode: pulumi.String(string(in.BillingMode)),
		Ttl: &dynamodb.TableTtlArgs{
			AttributeName: pulumi.String(dynamoledger.AttrExpiresAt),
			Enabled:       pulumi.Bool(true),
		},
		PointInTimeRecovery:  &dynamodb.TablePointInTimeRecoveryArgs{Enabled: pulumi.Bool(true)},
		ServerSideEncryption: &dynamodb.TableServerSideEncryptionArgs{Enabled: pulumi.Bool(true)},
	}
	args.HashKey, args.RangeKey = keys(in.KeySchema)
	var attrs dynamodb.TableAttributeArray
	for _, a := range in.AttributeDefinitions {
		attrs = append(attrs, &dynamodb.TableAttributeArgs{
			Name: pulumi.String(aws.ToString(a.AttributeName)),
			Type: pulumi.String(string(a.AttributeType)),
		})
	}
	args.Attributes = attrs

	var gsis dynamodb.TableGlobalSecondaryIndexArray
	var names []string
	for _, ix := range in.GlobalSecondaryIndexes {
		hash, rng := keys(ix.KeySchema)
		gsi := &dynamodb.TableGlobalSecondaryIndexArgs{
			Name:           pulumi.String(aws.ToString(ix.IndexName)),
			HashKey:        hash,
			RangeKey:       rng,
			ProjectionType: pulumi.String(string(ix.Projection.ProjectionType)),
		}
		if len(ix.Projection.NonKeyAttributes) > 0 {
			gsi.NonKeyAttributes = pulumi.ToStringArray(ix.Projection.NonKeyAttributes)
		}
		gsis = append(gsis, gsi)
		names = append(names, aws.ToString(ix.IndexName))
	}
	args.GlobalSecondaryIndexes = gsis
	return args, names
}

func keys(schema []types.KeySchemaElement) (hash pulumi.StringInput, rng pulumi.StringPtrInput) {
	for _, k := range schema {
		switch k.KeyType {
		case types.KeyTypeHash:
			hash = pulumi.String(aws.ToString(k.AttributeName))
		case types.KeyTypeRange:
			rng = pulumi.String(aws.ToString(k.AttributeName))
		}
	}
	return hash, rng
}

// newTable creates the ledger table and returns the names of its indexes, which the function queries.
func newTable(ctx *pulumi.Context) (*dynamodb.Table, []string, error) {
	args, indexes := ledgerTableArgs()
	table, err := dynamodb.NewTable(ctx, "ledger", args)
	return table, indexes, err
}
