package sqsbatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/backlog-webhook/backlog-webhook/handler/webhook"
)

// DefaultReserve is the time Handle leaves before the Lambda deadline when Reserve is zero.
const DefaultReserve = 10 * time.Second

// reserveShare caps the reserve at 1/reserveShare of the time left when a batch starts,
// so a function with a short timeout still gets most of it for work.
const reserveShare = 4

// Errors that explain why a message was reported failed without its own failure.
var (
	// ErrReserveReached means the batch ran into its reserve before the Lambda deadline.
	ErrReserveReached = errors.New("deadline reserve reached")

	// ErrEarlierFailed means an earlier message of the batch failed, so this one was
	// not processed to keep the order of its message group.
	ErrEarlierFailed = errors.New("an earlier message of the batch failed")

	// ErrNoProcess means the Handler has no Process function.
	ErrNoProcess = errors.New("sqsbatch: handler has no Process function")
)

// Handler processes the messages of an SQS FIFO batch one by one, in order.
// Its fields are read-only once Handle is called; one Handler may serve
// concurrent invocations if Process may.
type Handler struct {
	// Process handles one delivery. A non-nil error means the delivery must be
	// retried: the message and every later message of the batch are reported failed.
	Process func(ctx context.Context, d webhook.Delivery) error

	// Logger receives one line per message; nil discards them. Bodies are never logged.
	Logger *slog.Logger

	// Reserve is the time left unused before the Lambda deadline; zero means
	// DefaultReserve. It is capped at a quarter of the time left when a batch starts.
	Reserve time.Duration
}

// Handle processes the batch in order and reports the messages to retry. It returns
// an error only when the Handler is misconfigured, which makes Lambda retry the batch.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	if h.Process == nil {
		return resp, ErrNoProcess
	}

	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	stop := h.stopAt(ctx)

	var stopped error
	for _, m := range ev.Records {
		d := Delivery(m)
		l := log.With(
			slog.String("message_id", m.MessageId),
			slog.String("group", m.Attributes[attrGroupID]),
			slog.String("delivery", d.ID),
			slog.String("receive_count", m.Attributes[attrReceiveCount]),
		)

		if stopped != nil {
			l.WarnContext(ctx, "sqs message returned to the queue", slog.String("reason", stopped.Error()))
			resp.BatchItemFailures = append(resp.BatchItemFailures, failure(m))
			continue
		}

		if err := h.processOne(ctx, stop, d); err != nil {
			l.ErrorContext(ctx, "sqs message failed", slog.Any("error", err))
			resp.BatchItemFailures = append(resp.BatchItemFailures, failure(m))
			stopped = ErrEarlierFailed
			if errors.Is(err, ErrReserveReached) {
				stopped = ErrReserveReached
			}
			continue
		}
		l.InfoContext(ctx, "sqs message processed")
	}

	return resp, nil
}

// processOne runs Process for d under a context that ends at stop (when stop is set).
func (h *Handler) processOne(ctx context.Context, stop time.Time, d webhook.Delivery) error {
	mctx, cancel := context.WithCancel(ctx)
	if !stop.IsZero() {
		cancel()
		mctx, cancel = context.WithDeadlineCause(ctx, stop, ErrReserveReached)
	}
	defer cancel()

	if mctx.Err() != nil {
		return fmt.Errorf("not started: %w", context.Cause(mctx))
	}

	err := h.Process(mctx, d)
	if err != nil && errors.Is(context.Cause(mctx), ErrReserveReached) && !errors.Is(err, ErrReserveReached) {
		return fmt.Errorf("%w: %w", ErrReserveReached, err)
	}

	return err
}

// stopAt returns when the batch must stop starting or running messages: the
// context's deadline less the reserve, or the zero time when ctx has no deadline.
func (h *Handler) stopAt(ctx context.Context) time.Time {
	deadline, ok := ctx.Deadline()
	if !ok {
		return time.Time{}
	}

	return deadline.Add(-ReserveFor(time.Until(deadline), h.Reserve))
}

// ReserveFor returns the reserve a batch keeps when left is the time until the
// Lambda deadline: reserve (DefaultReserve when zero), at most a quarter of left.
func ReserveFor(left, reserve time.Duration) time.Duration {
	if reserve <= 0 {
		reserve = DefaultReserve
	}
	if left <= 0 {
		return reserve
	}

	return min(reserve, left/reserveShare)
}

func failure(m events.SQSMessage) events.SQSBatchItemFailure {
	return events.SQSBatchItemFailure{ItemIdentifier: m.MessageId}
}
