package s3store_test

import (
	"crypto/sha256"
	"hash"
	"io"
	"net/http"
	"sync"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/backlog-webhook/backlog-webhook/handler/s3store"
	"github.com/backlog-webhook/backlog-webhook/internal/awspeers"
)

// peer is an S3 peer with a client that counts the S3 operations it sends.
type peer struct {
	store  *s3store.Store
	client *s3.Client
	bucket string
	calls  *callCounter
}

func newPeer(t *testing.T, opts ...s3store.Option) peer {
	t.Helper()

	endpoint, bucket := awspeers.S3(t)
	calls := &callCounter{next: awshttp.NewBuildableClient(), n: map[string]int{}}
	client := awspeers.S3Client(endpoint, func(o *s3.Options) { o.HTTPClient = calls })

	return peer{store: s3store.New(client, bucket, opts...), client: client, bucket: bucket, calls: calls}
}

// callCounter is an HTTP client that counts requests by S3 operation.
type callCounter struct {
	next *awshttp.BuildableClient
	mu   sync.Mutex
	n    map[string]int
}

func (c *callCounter) Do(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n[operation(r)]++
	c.mu.Unlock()

	return c.next.Do(r)
}

func (c *callCounter) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.n[op]
}

// operation names the S3 operation of a path-style request from its method and query.
func operation(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPost && q.Has("uploads"):
		return "CreateMultipartUpload"
	case r.Method == http.MethodPut && q.Has("uploadId"):
		return "UploadPart"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		return "CompleteMultipartUpload"
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		return "AbortMultipartUpload"
	case r.Method == http.MethodPut:
		return "PutObject"
	default:
		return r.Method
	}
}

// patternReader yields size bytes of a deterministic, non-repeating-looking
// pattern and hashes what it yields. It is deliberately not an io.Seeker.
type patternReader struct {
	size, off int64
	sum       hash.Hash
}

func newPatternReader(size int64) *patternReader {
	return &patternReader{size: size, sum: sha256.New()}
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(b)), p.size-p.off))
	for i := range n {
		x := p.off + int64(i)
		b[i] = byte(x*131 + x>>9 + x>>17)
	}
	p.off += int64(n)
	p.sum.Write(b[:n])

	return n, nil
}

// failingReader yields the pattern for after bytes, then calls onFail and returns
// err, or keeps yielding data when err is nil.
type failingReader struct {
	pattern *patternReader
	after   int64
	onFail  func()
	err     error
}

func (f *failingReader) Read(b []byte) (int, error) {
	if f.pattern.off >= f.after {
		if f.onFail != nil {
			f.onFail()
			f.onFail = nil
		}
		if f.err != nil {
			return 0, f.err
		}
	}
	if f.err != nil {
		b = b[:min(int64(len(b)), f.after-f.pattern.off)]
	}

	return f.pattern.Read(b)
}

func sha256Of(t *testing.T, r io.Reader) []byte {
	t.Helper()

	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatalf("read body: %v", err)
	}

	return h.Sum(nil)
}
