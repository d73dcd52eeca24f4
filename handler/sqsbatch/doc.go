// Package sqsbatch turns a batch of SQS FIFO messages into webhook deliveries and
// processes them in order, reporting partial batch failures to Lambda.
//
// Order per message group is the point of a FIFO queue, so a failure ends the batch:
// the failed message and every later message of the batch are reported in
// BatchItemFailures and are not processed, and SQS delivers them again in order.
// Nothing is swallowed; after the queue's maximum receives, the dead-letter queue
// keeps a message that keeps failing.
//
// Handle also keeps a reserve of time before the Lambda deadline: every message gets
// a context that ends Reserve before the deadline, and the messages that time does
// not reach are reported failed instead of being cut off by the runtime.
//
// The event source mapping must enable ReportBatchItemFailures, or Lambda ignores
// the response and treats the invocation as a success.
package sqsbatch
