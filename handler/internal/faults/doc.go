// Package faults injects failures between the pipeline and its loopback peers, for
// reliability tests.
//
// HTTPProxy is a reverse proxy in front of an HTTP peer (the S3 or DynamoDB peer of
// package awspeers) that answers chosen requests with an error instead of passing
// them on: the second UploadPart of a multipart upload, every TransactWriteItems
// until healed. TCPProxy sits in front of a TCP server (the SSH Git server) and can
// stall or throttle the stream towards the client, as a network that stops moving.
//
// Both listen on 127.0.0.1 only and stop everything they started on Close.
package faults
