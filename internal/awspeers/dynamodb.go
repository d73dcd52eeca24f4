package awspeers

import (
	"fmt"
	"testing"

	miniserver "github.com/truora/minidyn/server"
)

// StartDynamoDB starts an in-memory DynamoDB peer (the minidyn server) with no
// tables. It returns the endpoint URL and a function that stops the peer.
//
// The peer's DescribeTable answers without TableStatus: create tables and use
// them at once instead of waiting for ACTIVE.
func StartDynamoDB() (endpoint string, stop func(), err error) {
	srv, err := serve(miniserver.NewServer())
	if err != nil {
		return "", nil, fmt.Errorf("dynamodb peer: %w", err)
	}

	return srv.URL, srv.Close, nil
}

// DynamoDB starts a DynamoDB peer for the test and stops it when the test ends.
func DynamoDB(t testing.TB) (endpoint string) {
	t.Helper()

	endpoint, stop, err := StartDynamoDB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)

	return endpoint
}
