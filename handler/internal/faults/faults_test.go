package faults_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/backlog-webhook/backlog-webhook/handler/internal/faults"
)

func TestHTTPProxyFailsChosenRequestsUntilHealed(t *testing.T) {
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(peer.Close)
	p, err := faults.StartHTTP(peer.URL, faults.Fault{Match: faults.UploadPartNumber(2), After: 1, Times: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })

	put := func(query string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPut, p.URL()+"/bucket/key?"+query, strings.NewReader("part"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	var got []int
	for _, q := range []string{"partNumber=1&uploadId=u", "partNumber=2&uploadId=u", "partNumber=2&uploadId=u",
		"partNumber=2&uploadId=u", "partNumber=2&uploadId=u", "uploads"} {
		got = append(got, put(q))
	}
	if want := []int{200, 200, 500, 500, 200, 200}; !equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	if p.Failed() != 2 || p.Matched(0) != 4 {
		t.Fatalf("failed %d, matched %d; want 2 and 4", p.Failed(), p.Matched(0))
	}

	forever, err := faults.StartHTTP(peer.URL, faults.Fault{Match: func(*http.Request) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = forever.Close() })
	resp, err := http.Get(forever.URL())
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	forever.Heal()
	healed, err := http.Get(forever.URL())
	if err != nil {
		t.Fatal(err)
	}
	_ = healed.Body.Close()
	if resp.StatusCode != 500 || healed.StatusCode != 200 {
		t.Fatalf("before heal %d, after %d; want 500 then 200", resp.StatusCode, healed.StatusCode)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// echoServer sends size bytes to every connection, then closes it.
func echoServer(t *testing.T, size int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = c.Write(bytes.Repeat([]byte("x"), size))
			}()
		}
	}()
	return ln.Addr().String()
}

func TestTCPProxyForwardsStallsAndCloses(t *testing.T) {
	p, err := faults.StartTCP(echoServer(t, 100_000))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })

	read := func() (int, error) {
		t.Helper()
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := io.Copy(io.Discard, c)
		return int(n), err
	}
	if n, err := read(); n != 100_000 || err != nil {
		t.Fatalf("healthy proxy: read %d bytes (err %v), want all 100000", n, err)
	}

	p.StallAfter(1000)
	n, err := read()
	var ne net.Error
	if n != 1000 || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("stalled proxy: read %d bytes (err %v), want 1000 and then silence", n, err)
	}
	if p.Stalls() != 1 {
		t.Fatalf("%d stalls, want 1", p.Stalls())
	}

	// Close ends a stalled connection at once.
	p.Heal()
	p.StallAfter(10)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.ReadFull(c, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.Close() }()
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("after Close the connection must end, got %v", err)
	}
}
