package faults

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
)

// Fault says which requests an HTTPProxy fails and how.
type Fault struct {
	// Match selects the requests the fault counts. It must not read the body.
	Match func(*http.Request) bool

	// After is how many matching requests pass before the fault starts failing them.
	After int

	// Times is how many matching requests fail once the fault has started; zero or
	// less means every one until the proxy is healed.
	Times int

	// Status is the HTTP status of the failure; zero means 500.
	Status int

	// Code is the AWS error code put in the body; empty means "InternalError".
	Code string
}

// HTTPProxy forwards requests to a peer and fails those its faults select.
// Its methods are safe for concurrent use.
type HTTPProxy struct {
	ln     net.Listener
	srv    *http.Server
	next   http.Handler
	served chan struct{}

	mu      sync.Mutex
	faults  []Fault
	matched []int // matching requests seen per fault
	failed  int
	healed  bool
}

// StartHTTP starts a proxy on 127.0.0.1 in front of the peer at target (an http:// URL).
func StartHTTP(target string, faults ...Fault) (*HTTPProxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("faults: proxy target %q: want an http:// URL", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faults: listen: %w", err)
	}
	p := &HTTPProxy{
		ln: ln, next: httputil.NewSingleHostReverseProxy(u), served: make(chan struct{}),
		faults: append([]Fault(nil), faults...), matched: make([]int, len(faults)),
	}
	p.srv = &http.Server{Handler: p}
	go func() {
		defer close(p.served)
		_ = p.srv.Serve(ln)
	}()
	return p, nil
}

// URL is the proxy's base URL, to configure as the peer's endpoint.
func (p *HTTPProxy) URL() string { return "http://" + p.ln.Addr().String() }

// Heal stops every fault: from now on all requests pass.
func (p *HTTPProxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.healed = true
}

// Failed returns how many requests the proxy has failed.
func (p *HTTPProxy) Failed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}

// Matched returns how many requests fault i has matched, failed or not.
func (p *HTTPProxy) Matched(i int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.matched[i]
}

// Close stops the proxy.
func (p *HTTPProxy) Close() error {
	err := p.srv.Close()
	<-p.served
	return err
}

// ServeHTTP implements http.Handler.
func (p *HTTPProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, fail := p.decide(r)
	if !fail {
		p.next.ServeHTTP(w, r)
		return
	}
	_, _ = io.Copy(io.Discard, r.Body) // the client sees the answer, not a broken pipe
	status, code := f.Status, f.Code
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if code == "" {
		code = "InternalError"
	}
	msg := "injected fault"
	if target := r.Header.Get("X-Amz-Target"); target != "" { // JSON protocols (DynamoDB)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":%q}`, code, msg)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"+
		"<Error><Code>%s</Code><Message>%s</Message></Error>", code, msg)
}

// decide counts r against the faults and reports the one that fails it, if any.
func (p *HTTPProxy) decide(r *http.Request) (Fault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, f := range p.faults {
		if f.Match == nil || !f.Match(r) {
			continue
		}
		p.matched[i]++
		n := p.matched[i] - f.After // 1-based position among the requests the fault may fail
		if p.healed || n < 1 || (f.Times > 0 && n > f.Times) {
			continue
		}
		p.failed++
		return f, true
	}
	return Fault{}, false
}

// UploadPart matches the S3 UploadPart requests of a multipart upload.
func UploadPart(r *http.Request) bool {
	q := r.URL.Query()
	return r.Method == http.MethodPut && q.Has("partNumber") && q.Has("uploadId")
}

// UploadPartNumber matches the S3 UploadPart requests of part n.
func UploadPartNumber(n int) func(*http.Request) bool {
	want := fmt.Sprint(n)
	return func(r *http.Request) bool { return UploadPart(r) && r.URL.Query().Get("partNumber") == want }
}

// DynamoDBOp matches DynamoDB requests of the named operation, e.g. "TransactWriteItems".
func DynamoDBOp(op string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return strings.HasSuffix(r.Header.Get("X-Amz-Target"), "."+op)
	}
}
