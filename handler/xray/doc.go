// Package xray sends the program's OpenTelemetry spans to AWS X-Ray without a collector.
//
// An [Exporter] turns each finished span into an X-Ray segment document and sends it to the
// X-Ray daemon that Lambda runs beside the function, one UDP datagram per document. Spans
// whose parent came from the invocation's trace header (see [ParseHeader] and
// [ContextWithHeader]) become subsegments of the function's segment, so the console shows
// them inside the invocation's trace. [IDGenerator] makes trace ids X-Ray accepts, and
// [SDKTracerProvider] lets the AWS SDK report one span per API call, which the exporter
// writes as an "aws" subsegment with the service, operation, region and HTTP status.
//
// Only a short list of attribute keys chosen by the caller becomes annotations; everything
// else a span carries stays out of the documents, so message bodies, object keys and secrets
// never reach X-Ray.
package xray
