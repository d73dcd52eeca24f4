package dynamoledger

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names of the table's keys and index keys. The infrastructure stack
// mirrors these; change them together.
const (
	AttrPK        = "pk"        // S, table partition key
	AttrSK        = "sk"        // S, table sort key; also the sort key of every index
	AttrCommit    = "commit"    // S, partition key of IndexCommit (records with a commit only)
	AttrRepoKey   = "repoKey"   // S, "<project>/<repo>", partition key of IndexRepo
	AttrProject   = "project"   // S, partition key of IndexProject
	AttrScope     = "scope"     // S, always ScopeAll on records, partition key of IndexAll
	AttrExpiresAt = "expiresAt" // N, epoch seconds; the table's TTL attribute
)

// Global secondary indexes. Each projects all attributes and sorts by AttrSK.
const (
	IndexCommit  = "commit"  // records that archived or saw one commit
	IndexRepo    = "repo"    // records of one repository, all branches
	IndexProject = "project" // records of one project
	IndexAll     = "all"     // every record
)

// ScopeAll is the AttrScope value of every record item.
const ScopeAll = "ALL"

// TableInput returns the CreateTable request for a ledger table called name:
// on-demand billing, string keys AttrPK/AttrSK and the four indexes. TTL on
// AttrExpiresAt is not part of CreateTable; enable it with UpdateTimeToLive (the
// stack does).
func TableInput(name string) *dynamodb.CreateTableInput {
	attrs := []types.AttributeDefinition{}
	for _, a := range []string{AttrPK, AttrSK, AttrCommit, AttrRepoKey, AttrProject, AttrScope} {
		attrs = append(attrs, types.AttributeDefinition{
			AttributeName: aws.String(a), AttributeType: types.ScalarAttributeTypeS,
		})
	}

	var indexes []types.GlobalSecondaryIndex
	for _, ix := range []struct{ name, hash string }{
		{IndexCommit, AttrCommit}, {IndexRepo, AttrRepoKey}, {IndexProject, AttrProject}, {IndexAll, AttrScope},
	} {
		indexes = append(indexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(ix.name),
			KeySchema:  keySchema(ix.hash, AttrSK),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}

	return &dynamodb.CreateTableInput{
		TableName:              aws.String(name),
		BillingMode:            types.BillingModePayPerRequest,
		AttributeDefinitions:   attrs,
		KeySchema:              keySchema(AttrPK, AttrSK),
		GlobalSecondaryIndexes: indexes,
	}
}

func keySchema(hash, rng string) []types.KeySchemaElement {
	return []types.KeySchemaElement{
		{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash},
		{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange},
	}
}
