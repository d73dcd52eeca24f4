package awspeers

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Region is the region every peer client is configured for.
const Region = "us-east-1"

// Fake credentials the peers accept; they sign requests but grant nothing anywhere else.
const (
	AccessKeyID     = "AKIDLOOPBACKPEER"
	SecretAccessKey = "loopback-peer-secret"
)

// Config returns an aws.Config with static fake credentials and Region, and no
// shared-config or environment lookups, for clients of the loopback peers.
func Config() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
	}
}

// S3Client returns an S3 client for the peer at endpoint, using path-style addressing.
func S3Client(endpoint string) *s3.Client {
	return s3.NewFromConfig(Config(), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
}

// DynamoDBClient returns a DynamoDB client for the peer at endpoint.
func DynamoDBClient(endpoint string) *dynamodb.Client {
	return dynamodb.NewFromConfig(Config(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// SecretsClient returns a Secrets Manager client for the peer at endpoint.
func SecretsClient(endpoint string) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(Config(), func(o *secretsmanager.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}
