//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/backlog-webhook/backlog-webhook/internal/awspeers"
)

// xrayReadGuard only keeps a broken test from hanging; nothing is asserted about time.
const xrayReadGuard = 30 * time.Second

// xrayDaemon stands in for the X-Ray daemon Lambda runs: a UDP socket on loopback.
type xrayDaemon struct{ conn *net.UDPConn }

func startXRayDaemon(t *testing.T) *xrayDaemon {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.SetReadBuffer(4 << 20); err != nil {
		t.Logf("X-Ray daemon read buffer: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &xrayDaemon{conn: conn}
}

func (d *xrayDaemon) addr() string { return d.conn.LocalAddr().String() }

// next reads one segment document and its raw datagram.
func (d *xrayDaemon) next(t *testing.T) (raw []byte, doc map[string]any) {
	t.Helper()
	buf := make([]byte, 1<<16)
	if err := d.conn.SetReadDeadline(time.Now().Add(xrayReadGuard)); err != nil {
		t.Fatal(err)
	}
	n, _, err := d.conn.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("X-Ray daemon: read: %v", err)
	}
	head, body, ok := bytes.Cut(buf[:n], []byte("\n"))
	if !ok || string(head) != `{"format":"json","version":1}` {
		t.Fatalf("X-Ray daemon: datagram without the header line: %.100q", buf[:n])
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("X-Ray daemon: document is not JSON: %v", err)
	}
	return buf[:n], doc
}

// checkXRayExport invokes the function once more and checks what reached the daemon for that
// invocation: a segment named after the function (the emulator passes no trace header, so the
// trace starts in the function), the delivery under it and the AWS calls under the delivery,
// with no secret or message content in any document. Linking to the header's segment is
// tested in handler/xray.
func checkXRayExport(ctx context.Context, t *testing.T, s *emuStack) {
	body := emuPushBody(6, emuRepo)
	res := s.emu.invoke(ctx, t, emuEvent("traced", body))
	if res.ErrorMessage != "" || len(res.BatchItemFailures) != 0 {
		t.Fatalf("invocation failed: %+v", res)
	}

	// The function flushes before it answers, so the documents of every invocation so far
	// are waiting in order, each trace's segment last.
	traces := map[string][]map[string]any{}
	var segment, delivery map[string]any
	for segment == nil {
		raw, doc := s.xray.next(t)
		for _, secret := range []string{"Taro Yamada", "PRIVATE KEY", awspeers.SecretAccessKey} {
			if bytes.Contains(raw, []byte(secret)) {
				t.Errorf("a segment document carries %q", secret)
			}
		}
		id, _ := doc["trace_id"].(string)
		if doc["parent_id"] != nil {
			traces[id] = append(traces[id], doc)
			continue
		}
		for _, d := range traces[id] {
			if a, _ := d["annotations"].(map[string]any); d["name"] == "delivery" && a["delivery_id"] == emuDeliveryID(body) {
				segment, delivery = doc, d
			}
		}
	}

	if segment["name"] != "backlog-webhook-archive" || delivery["parent_id"] != segment["id"] {
		t.Errorf("delivery %v is not under the function's segment %v", delivery, segment)
	}
	calls := 0
	for _, d := range traces[segment["trace_id"].(string)] {
		if d["namespace"] != "aws" {
			continue
		}
		calls++
		aws, _ := d["aws"].(map[string]any)
		if d["parent_id"] != delivery["id"] || aws["operation"] == "" || aws["region"] != awspeers.Region {
			t.Errorf("AWS call %v is not an %s call under the delivery %v", d, awspeers.Region, delivery["id"])
		}
	}
	if calls == 0 {
		t.Errorf("no AWS call subsegments in trace %v", segment["trace_id"])
	}
}
