package sqsbatch

import (
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func TestDelivery(t *testing.T) {
	json := "application/json"
	tests := []struct {
		name       string
		msg        events.SQSMessage
		wantID     string
		wantType   string
		wantSentAt time.Time // zero: ReceivedAt must be near now instead
	}{
		{
			name: "all attributes",
			msg: events.SQSMessage{
				Body:              "hello",
				Attributes:        map[string]string{"SentTimestamp": "1764763200123"},
				MessageAttributes: map[string]events.SQSMessageAttribute{"contentType": {StringValue: &json}},
			},
			wantID:     "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
			wantType:   "application/json",
			wantSentAt: time.Date(2025, 12, 3, 12, 0, 0, 123e6, time.UTC),
		},
		{
			name:   "no content type and no timestamp",
			msg:    events.SQSMessage{Body: ""},
			wantID: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		},
		{
			name: "content type attribute without string value",
			msg: events.SQSMessage{
				Body:              "hello",
				Attributes:        map[string]string{"SentTimestamp": "not-a-number"},
				MessageAttributes: map[string]events.SQSMessageAttribute{"contentType": {DataType: "Binary"}},
			},
			wantID: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now().Add(-time.Second)
			d := Delivery(tt.msg)

			if d.ID != tt.wantID {
				t.Errorf("ID = %s, want %s", d.ID, tt.wantID)
			}
			if d.ContentType != tt.wantType {
				t.Errorf("ContentType = %q, want %q", d.ContentType, tt.wantType)
			}
			if string(d.Body) != tt.msg.Body {
				t.Errorf("Body = %q, want %q", d.Body, tt.msg.Body)
			}
			if !tt.wantSentAt.IsZero() && !d.ReceivedAt.Equal(tt.wantSentAt) {
				t.Errorf("ReceivedAt = %v, want %v", d.ReceivedAt, tt.wantSentAt)
			}
			if tt.wantSentAt.IsZero() && d.ReceivedAt.Before(before) {
				t.Errorf("ReceivedAt = %v, want the time of the call", d.ReceivedAt)
			}
		})
	}
}
