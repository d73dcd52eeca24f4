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

// S3Client returns an S3 client for the peer at endpoint, using path-style
// addressing; optFns run after the peer settings.
func S3Client(endpoint string, optFns ...func(*s3.Options)) *s3.Client {
	peer := func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	}

	return s3.NewFromConfig(Config(), append([]func(*s3.Options){peer}, optFns...)...)
}

// DynamoDBClient returns a DynamoDB client for the peer at endpoint; optFns run after the peer settings.
func DynamoDBClient(endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	peer := func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) }

	return dynamodb.NewFromConfig(Config(), append([]func(*dynamodb.Options){peer}, optFns...)...)
}

// SecretsClient returns a Secrets Manager client for the peer at endpoint; optFns run after the peer settings.
func SecretsClient(endpoint string, optFns ...func(*secretsmanager.Options)) *secretsmanager.Client {
	peer := func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(endpoint) }

	return secretsmanager.NewFromConfig(Config(), append([]func(*secretsmanager.Options){peer}, optFns...)...)
}
