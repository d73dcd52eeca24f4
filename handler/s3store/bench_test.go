package s3store_test

import (
	"testing"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
	"github.com/backlog-webhook/backlog-webhook/handler/s3store"
	"github.com/backlog-webhook/backlog-webhook/internal/awspeers"
)

// BenchmarkPut40MiB streams a 40 MiB unseekable archive to the loopback peer.
func BenchmarkPut40MiB(b *testing.B) {
	endpoint, bucket := awspeers.S3(b)
	store := s3store.New(awspeers.S3Client(endpoint), bucket)
	const size = 40 << 20

	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := store.Put(b.Context(), "bench/main.zip", newPatternReader(size), pipeline.Meta{}); err != nil {
			b.Fatalf("Put: %v", err)
		}
	}
}
