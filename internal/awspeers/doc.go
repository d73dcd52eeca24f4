// Package awspeers runs in-process stand-ins for the AWS services the handler uses
// (S3 with versioning, DynamoDB, Secrets Manager) on 127.0.0.1 and builds real
// aws-sdk-go-v2 clients pointed at them.
//
// The peers speak the services' wire protocols, so code under test uses the same
// clients it uses against AWS. Tests call S3, DynamoDB and Secrets, which stop the
// peer in t.Cleanup; long-running programs (a local demo, an emulator harness)
// call the Start variants and close the peer themselves.
//
// Every peer listens on plain HTTP: gofakes3 stores the SDK's chunked framing as
// object data when parts are sent over TLS.
package awspeers
