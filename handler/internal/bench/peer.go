package bench

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Bucket is the versioned bucket of every S3 peer the benchmark starts.
const Bucket = "archives"

// s3Peer is an in-memory S3 (gofakes3 with s3mem) on loopback that counts the requests it serves.
type s3Peer struct {
	srv *httptest.Server

	mu    sync.Mutex
	count map[string]int // by request kind, e.g. "HEAD" or "PUT part"
}

// startS3 starts an empty S3 peer with Bucket versioned.
func startS3() (*s3Peer, error) {
	backend := s3mem.New()
	if err := backend.CreateBucket(Bucket); err != nil {
		return nil, fmt.Errorf("s3 peer: %w", err)
	}
	var versioning gofakes3.VersioningConfiguration
	versioning.SetEnabled(true)
	if err := backend.SetVersioningConfiguration(Bucket, versioning); err != nil {
		return nil, fmt.Errorf("s3 peer: %w", err)
	}

	p := &s3Peer{count: map[string]int{}}
	fake := gofakes3.New(backend).Server()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("s3 peer: %w", err)
	}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.count[requestKind(r)]++
		p.mu.Unlock()
		fake.ServeHTTP(w, r)
	}))
	p.srv.Listener.Close()
	p.srv.Listener = l
	p.srv.Start()
	return p, nil
}

// URL returns the peer's endpoint.
func (p *s3Peer) URL() string { return p.srv.URL }

// Close stops the peer; its objects are dropped with it.
func (p *s3Peer) Close() { p.srv.Close() }

// Reset forgets the requests counted so far.
func (p *s3Peer) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.count)
}

// Requests returns the requests counted since the last Reset, as "HEAD×1 PUT part×3".
func (p *s3Peer) Requests() (summary string, other int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var kinds []string
	for k, n := range p.count {
		kinds = append(kinds, fmt.Sprintf("%s×%d", k, n))
		if k != http.MethodHead {
			other += n
		}
	}
	sort.Strings(kinds)
	if len(kinds) == 0 {
		return "none", 0
	}
	return strings.Join(kinds, " "), other
}

// requestKind names an S3 request by method and the query parameter that selects its operation.
func requestKind(r *http.Request) string {
	q := r.URL.Query()
	for _, op := range []string{"uploads", "uploadId", "versions", "versioning", "list-type"} {
		if q.Has(op) {
			if op == "uploadId" && q.Has("partNumber") {
				return r.Method + " part"
			}
			return r.Method + " " + op
		}
	}
	return r.Method
}
