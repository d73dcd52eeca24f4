// Command stack is the Pulumi program of backlog-webhook. It builds the handler for Lambda and provisions
// the webhook API, the FIFO queue and its dead-letter queue, the archiver function, the versioned bucket,
// the ledger table and the SSH secret, one file per concern. Configuration is validated before anything
// is created; see loadConfig for every key.
package main

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// handlerPackage is the main package deployed as the function, relative to the module root.
const handlerPackage = "./handler"

func main() {
	b, err := defaultBuilder()
	if err != nil {
		panic(err)
	}
	pulumi.Run(program(b.Build))
}

// program returns the Pulumi program. build turns handlerPackage into a zip; tests pass a fake.
func program(build builder) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		outputs, err := provision(ctx, build)
		if err != nil {
			return err
		}
		for name, value := range outputs {
			ctx.Export(name, value)
		}
		return nil
	}
}

// provision validates the configuration, builds the handler and creates every resource.
// It returns the stack outputs by name; webhookUrl is secret.
func provision(ctx *pulumi.Context, build builder) (map[string]pulumi.StringOutput, error) {
	cfg, err := loadConfig(ctx)
	if err != nil {
		return nil, err
	}
	code, err := build(ctx.Context(), handlerPackage)
	if err != nil {
		return nil, fmt.Errorf("handler: %w", err)
	}

	bucket, err := newBucket(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("bucket: %w", err)
	}
	table, indexes, err := newTable(ctx)
	if err != nil {
		return nil, fmt.Errorf("table: %w", err)
	}
	secret, err := newSecret(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	q, err := newQueues(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("queues: %w", err)
	}
	deps := functionDeps{Code: code, Bucket: bucket, Table: table, Index: indexes, Secret: secret, Queues: q}
	fn, err := newFunction(ctx, cfg, deps)
	if err != nil {
		return nil, fmt.Errorf("function: %w", err)
	}
	api, err := newAPI(ctx, cfg, q)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}

	return map[string]pulumi.StringOutput{
		"webhookUrl":         api.URL,
		"bucketName":         bucket.Bucket,
		"tableName":          table.Name,
		"queueUrl":           q.Main.Url,
		"deadLetterQueueUrl": q.DLQ.Url,
		"sshSecretName":      secret.Name,
		"functionName":       fn.Name,
	}, nil
}
