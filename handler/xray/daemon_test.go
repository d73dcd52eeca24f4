package xray_test

import (
	"bytes"
	"encoding/json"
	"net"
	"testing"
	"time"
)

// daemonHeader is the line every datagram must start with.
const daemonHeader = `{"format":"json","version":1}`

// readGuard only keeps a broken test from hanging; nothing is asserted about time.
const readGuard = 30 * time.Second

// daemon stands in for the X-Ray daemon: a UDP socket on loopback that tests read datagrams from.
type daemon struct {
	conn *net.UDPConn
}

func startDaemon(t *testing.T) *daemon {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &daemon{conn: conn}
}

func (d *daemon) addr() string { return d.conn.LocalAddr().String() }

// next reads one datagram, checks its header line and returns the raw datagram and the document.
func (d *daemon) next(t *testing.T) (raw []byte, doc map[string]any) {
	t.Helper()
	buf := make([]byte, 1<<17)
	if err := d.conn.SetReadDeadline(time.Now().Add(readGuard)); err != nil {
		t.Fatal(err)
	}
	n, _, err := d.conn.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("read datagram: %v", err)
	}
	raw = buf[:n]

	head, body, ok := bytes.Cut(raw, []byte("\n"))
	if !ok || string(head) != daemonHeader {
		t.Fatalf("datagram does not start with the header line: %.80q", raw)
	}
	if bytes.Contains(body, []byte("\n")) {
		t.Fatalf("document spans more than one line: %.200q", body)
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("document is not JSON: %v", err)
	}
	return raw, doc
}
