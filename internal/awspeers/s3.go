package awspeers

import (
	"fmt"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// DefaultBucket is the bucket S3 creates.
const DefaultBucket = "archives"

// StartS3 starts an in-memory S3 peer (gofakes3 with the s3mem backend) holding
// one empty bucket with versioning enabled. It returns the endpoint URL and a
// function that stops the peer.
func StartS3(bucket string) (endpoint string, stop func(), err error) {
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		return "", nil, fmt.Errorf("s3 peer: create bucket %s: %w", bucket, err)
	}

	var versioning gofakes3.VersioningConfiguration
	versioning.SetEnabled(true)
	if err := backend.SetVersioningConfiguration(bucket, versioning); err != nil {
		return "", nil, fmt.Errorf("s3 peer: enable versioning on %s: %w", bucket, err)
	}

	srv, err := serve(gofakes3.New(backend).Server())
	if err != nil {
		return "", nil, fmt.Errorf("s3 peer: %w", err)
	}

	return srv.URL, srv.Close, nil
}

// S3 starts an S3 peer for the test with a versioned bucket named DefaultBucket
// and stops it when the test ends.
func S3(t testing.TB) (endpoint string, bucket string) {
	t.Helper()

	endpoint, stop, err := StartS3(DefaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)

	return endpoint, DefaultBucket
}
