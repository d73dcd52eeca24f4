package sqsbatch

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

// ContentTypeAttribute is the string message attribute that carries the Content-Type
// header of the webhook request. It may be absent.
const ContentTypeAttribute = "contentType"

// SQS system attributes read from every message.
const (
	attrSentTimestamp = "SentTimestamp"
	attrGroupID       = "MessageGroupId"
	attrReceiveCount  = "ApproximateReceiveCount"
)

// Delivery returns the webhook delivery a message carries: the body byte for byte,
// its hex SHA-256 as ID, the content type from the message attribute and the time
// SQS accepted the message. When SentTimestamp is missing or malformed, ReceivedAt
// is now.
func Delivery(m events.SQSMessage) webhook.Delivery {
	sum := sha256.Sum256([]byte(m.Body))

	d := webhook.Delivery{
		ID:         hex.EncodeToString(sum[:]),
		Body:       []byte(m.Body),
		ReceivedAt: time.Now().UTC(),
	}
	if a, ok := m.MessageAttributes[ContentTypeAttribute]; ok && a.StringValue != nil {
		d.ContentType = *a.StringValue
	}
	if ms, err := strconv.ParseInt(m.Attributes[attrSentTimestamp], 10, 64); err == nil && ms > 0 {
		d.ReceivedAt = time.UnixMilli(ms).UTC()
	}

	return d
}
