package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// visibilityFactor is how many function timeouts a received message stays invisible, as AWS advises
// for queues that trigger a Lambda function.
const visibilityFactor = 6

// queues are the webhook queue and its dead-letter queue.
type queues struct {
	Main *sqs.Queue
	DLQ  *sqs.Queue
}

// queueName makes a FIFO queue name unique per stack: SQS allows letters, digits, '-' and '_', 80 at most.
func queueName(ctx *pulumi.Context, suffix string) string {
	base := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '-'
	}, ctx.Project()+"-"+ctx.Stack())
	tail := "-" + suffix + ".fifo"
	if len(base)+len(tail) > 80 {
		base = base[:80-len(tail)]
	}
	return base + tail
}

// newQueues creates the encrypted FIFO queue with content-based deduplication, its FIFO dead-letter queue,
// and an alarm on dead-letter depth that mails cfg.AlarmEmail when set.
func newQueues(ctx *pulumi.Context, cfg Config) (queues, error) {
	dlq, err := sqs.NewQueue(ctx, "deliveries-dlq", &sqs.QueueArgs{
		Name:                      pulumi.String(queueName(ctx, "dlq")),
		FifoQueue:                 pulumi.Bool(true),
		ContentBasedDeduplication: pulumi.Bool(true),
		SqsManagedSseEnabled:      pulumi.Bool(true),
		MessageRetentionSeconds:   pulumi.Int(14 * 24 * 3600),
	})
	if err != nil {
		return queues{}, err
	}

	redrive := dlq.Arn.ApplyT(func(arn string) (string, error) {
		b, err := json.Marshal(map[string]any{"deadLetterTargetArn": arn, "maxReceiveCount": cfg.MaxReceives})
		return string(b), err
	}).(pulumi.StringOutput)
	main, err := sqs.NewQueue(ctx, "deliveries", &sqs.QueueArgs{
		Name:                      pulumi.String(queueName(ctx, "deliveries")),
		FifoQueue:                 pulumi.Bool(true),
		ContentBasedDeduplication: pulumi.Bool(true),
		SqsManagedSseEnabled:      pulumi.Bool(true),
		VisibilityTimeoutSeconds:  pulumi.Int(visibilityFactor * cfg.TimeoutSec),
		MessageRetentionSeconds:   pulumi.Int(4 * 24 * 3600),
		RedrivePolicy:             redrive,
	})
	if err != nil {
		return queues{}, err
	}

	if err := newDLQAlarm(ctx, cfg, dlq); err != nil {
		return queues{}, err
	}
	return queues{Main: main, DLQ: dlq}, nil
}

func newDLQAlarm(ctx *pulumi.Context, cfg Config, dlq *sqs.Queue) error {
	var actions pulumi.Array
	if cfg.AlarmEmail != "" {
		topic, err := sns.NewTopic(ctx, "alarms", &sns.TopicArgs{
			DisplayName: pulumi.String("backlog-webhook alarms"),
		})
		if err != nil {
			return err
		}
		_, err = sns.NewTopicSubscription(ctx, "alarms-email", &sns.TopicSubscriptionArgs{
			Topic:    topic.Arn,
			Protocol: pulumi.String("email"),
			Endpoint: pulumi.String(cfg.AlarmEmail),
		}, pulumi.Parent(topic))
		if err != nil {
			return err
		}
		actions = pulumi.Array{topic.Arn}
	}

	_, err := cloudwatch.NewMetricAlarm(ctx, "dlq-depth", &cloudwatch.MetricAlarmArgs{
		AlarmDescription: pulumi.String(fmt.Sprintf("Webhook deliveries failed %d times and were dead-lettered; "+
			"see the function logs and the ledger, then redrive the dead-letter queue.", cfg.MaxReceives)),
		Namespace:          pulumi.String("AWS/SQS"),
		MetricName:         pulumi.String("ApproximateNumberOfMessagesVisible"),
		Dimensions:         pulumi.StringMap{"QueueName": dlq.Name},
		Statistic:          pulumi.String("Maximum"),
		Period:             pulumi.Int(300),
		EvaluationPeriods:  pulumi.Int(1),
		Threshold:          pulumi.Float64(0),
		ComparisonOperator: pulumi.String("GreaterThanThreshold"),
		TreatMissingData:   pulumi.String("notBreaching"),
		AlarmActions:       actions,
		OkActions:          actions,
	}, pulumi.Parent(dlq))
	return err
}
