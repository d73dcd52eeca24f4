package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/backlog-webhook/backlog-webhook/handler/pipeline"
)

// Defaults for Put's streaming upload; see the package comment for the memory they imply.
const (
	DefaultPartSize    = 8 << 20 // bytes per part (S3's minimum is 5 MiB)
	DefaultConcurrency = 2       // parts in flight at once
	abortTimeout       = 30 * time.Second
	contentTypeZip     = "application/zip"
)

// Compile-time checks that Store provides what the pipeline uses.
var (
	_ pipeline.Store  = (*Store)(nil)
	_ pipeline.Opener = (*Store)(nil)
)

// Store is a pipeline.Store on one versioned S3 bucket. It is safe for concurrent use.
type Store struct {
	client   *s3.Client
	transfer *transfermanager.Client
	bucket   string
	log      *slog.Logger
}

// Option changes how New builds a Store.
type Option func(*options)

type options struct {
	partSize    int64
	concurrency int
	log         *slog.Logger
}

// WithPartSize sets the size of each uploaded part in bytes; values under 5 MiB are raised to 5 MiB.
func WithPartSize(n int64) Option {
	return func(o *options) { o.partSize = max(n, 5<<20) }
}

// WithConcurrency sets how many parts are uploaded at once; values under 1 mean 1.
func WithConcurrency(n int) Option {
	return func(o *options) { o.concurrency = max(n, 1) }
}

// WithLogger sets the logger for per-object detail (Debug level). The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// New returns a Store that keeps archives in bucket through client. The bucket
// should have versioning enabled: Put reports the version S3 assigns.
func New(client *s3.Client, bucket string, opts ...Option) *Store {
	o := options{partSize: DefaultPartSize, concurrency: DefaultConcurrency}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}

	transfer := transfermanager.New(client, func(t *transfermanager.Options) {
		t.PartSizeBytes = o.partSize
		t.MultipartUploadThreshold = o.partSize
		t.Concurrency = o.concurrency
		t.FailTimeout = abortTimeout
	})

	return &Store{client: client, transfer: transfer, bucket: bucket, log: o.log}
}

// Put streams r to key as a new version and returns it. r need not be seekable
// and its length need not be known. On error no new version exists.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, meta pipeline.Meta) (pipeline.Object, error) {
	start := time.Now()
	body := &countingReader{r: r}

	out, err := s.transfer.UploadObject(ctx, &transfermanager.UploadObjectInput{
		Bucket:      aws.String(s.bucket),
		Key:         aws.String(key),
		Body:        body,
		ContentType: aws.String(contentTypeZip),
		Metadata:    encodeMeta(meta),
	})
	if err != nil {
		return pipeline.Object{}, fmt.Errorf("s3 put %s/%s: %w", s.bucket, key, err)
	}

	obj := pipeline.Object{
		Key:      key,
		Version:  aws.ToString(out.VersionID),
		Size:     body.n,
		Modified: time.Now().UTC(),
		Meta:     meta,
	}
	s.log.DebugContext(ctx, "s3 object stored", "bucket", s.bucket, "key", key, "version", obj.Version,
		"bytes", obj.Size, "parts", len(out.CompletedParts), "duration", time.Since(start))

	return obj, nil
}

// countingReader counts the bytes read through it. It hides any io.Seeker of the
// wrapped reader, so the transfer manager always streams.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// isNotFound reports whether err is S3's answer for a missing key or version.
func isNotFound(err error) bool {
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}
