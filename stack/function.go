package main

import (
	"encoding/json"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dynamodb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/backlog-webhook/backlog-webhook/handler/lambdaconfig"
)

// functionDeps are the resources the function reads and writes.
type functionDeps struct {
	Code   string // path of the deterministic zip holding bootstrap
	Bucket *s3.BucketV2
	Table  *dynamodb.Table
	Index  []string // names of the table's indexes
	Secret *secretsmanager.Secret
	Queues queues
}

// newFunction creates the archiver: its log group, a role that may touch only this stack's resources,
// the arm64 function and its SQS event source with partial batch responses.
func newFunction(ctx *pulumi.Context, cfg Config, d functionDeps) (*lambda.Function, error) {
	logs, err := cloudwatch.NewLogGroup(ctx, "function-logs", &cloudwatch.LogGroupArgs{
		RetentionInDays: pulumi.Int(cfg.LogRetention),
	})
	if err != nil {
		return nil, err
	}

	role, err := iam.NewRole(ctx, "function", &iam.RoleArgs{
		Description:      pulumi.String("Runs the backlog-webhook archiver"),
		AssumeRolePolicy: assumeRolePolicy("lambda.amazonaws.com"),
	})
	if err != nil {
		return nil, err
	}

	indexes := make([]pulumi.StringInput, 0, len(d.Index)+1)
	indexes = append(indexes, d.Table.Arn)
	for _, name := range d.Index {
		indexes = append(indexes, suffixed(d.Table.Arn, "/index/"+name))
	}
	policy, err := iam.NewRolePolicy(ctx, "function", &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: policyJSON(
			allow("Logs", []string{"logs:CreateLogStream", "logs:PutLogEvents"},
				suffixed(logs.Arn, ":log-stream:*")),
			allow("ReceiveDeliveries", []string{"sqs:ReceiveMessage", "sqs:DeleteMessage",
				"sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"}, d.Queues.Main.Arn),
			allow("ListArchives", []string{"s3:ListBucket", "s3:ListBucketVersions"}, d.Bucket.Arn),
			allow("WriteArchives", []string{"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject",
				"s3:AbortMultipartUpload"}, suffixed(d.Bucket.Arn, "/*")),
			allow("Ledger", ledgerActions, indexes...),
			allow("ReadSSHKey", []string{"secretsmanager:GetSecretValue"}, d.Secret.Arn),
			xrayStatement(),
		),
	}, pulumi.Parent(role))
	if err != nil {
		return nil, err
	}

	rulesJSON, err := json.Marshal(cfg.BranchRules)
	if err != nil {
		return nil, err
	}
	fn, err := lambda.NewFunction(ctx, "archiver", &lambda.FunctionArgs{
		Description:   pulumi.String("Archives Backlog Git pushes into S3 and records them in DynamoDB"),
		Runtime:       pulumi.String("provided.al2023"),
		Architectures: pulumi.StringArray{pulumi.String("arm64")},
		Handler:       pulumi.String("bootstrap"),
		Code:          pulumi.NewFileArchive(d.Code),
		Role:          role.Arn,
		MemorySize:    pulumi.Int(cfg.MemoryMB),
		Timeout:       pulumi.Int(cfg.TimeoutSec),
		EphemeralStorage: &lambda.FunctionEphemeralStorageArgs{
			Size: pulumi.Int(cfg.StorageMB),
		},
		TracingConfig: &lambda.FunctionTracingConfigArgs{Mode: pulumi.String("Active")},
		LoggingConfig: &lambda.FunctionLoggingConfigArgs{
			LogFormat:           pulumi.String("JSON"),
			LogGroup:            logs.Name,
			ApplicationLogLevel: pulumi.String("INFO"),
			SystemLogLevel:      pulumi.String("WARN"),
		},
		Environment: &lambda.FunctionEnvironmentArgs{
			Variables: pulumi.StringMap{
				lambdaconfig.EnvTable:         d.Table.Name,
				lambdaconfig.EnvBucket:        d.Bucket.Bucket,
				lambdaconfig.EnvGitServer:     pulumi.String(cfg.GitServer),
				lambdaconfig.EnvSSHSecret:     d.Secret.Name,
				lambdaconfig.EnvBranchRules:   pulumi.String(string(rulesJSON)),
				lambdaconfig.EnvRetentionDays: pulumi.String(strconv.Itoa(cfg.RetentionDays)),
			},
		},
	}, pulumi.DependsOn([]pulumi.Resource{policy}))
	if err != nil {
		return nil, err
	}

	_, err = lambda.NewEventSourceMapping(ctx, "deliveries", &lambda.EventSourceMappingArgs{
		EventSourceArn:        d.Queues.Main.Arn,
		FunctionName:          fn.Arn,
		BatchSize:             pulumi.Int(cfg.BatchSize),
		FunctionResponseTypes: pulumi.StringArray{pulumi.String("ReportBatchItemFailures")},
	}, pulumi.Parent(fn), pulumi.DependsOn([]pulumi.Resource{policy}))
	if err != nil {
		return nil, err
	}
	return fn, nil
}

// xrayStatement lets the function send traces. X-Ray's PutTraceSegments and PutTelemetryRecords have no
// resource-level permissions, so "*" is the only resource AWS accepts for them; they only write traces.
func xrayStatement() stmt {
	return stmt{statement: statement{
		Sid:      "Tracing",
		Effect:   "Allow",
		Action:   []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords"},
		Resource: []string{"*"},
	}}
}
