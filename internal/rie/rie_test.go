package rie

import (
	"net"
	"testing"
)

func TestFreeAddrIsLoopbackAndFree(t *testing.T) {
	addr := FreeAddr(t)

	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	if host != "127.0.0.1" {
		t.Fatalf("FreeAddr() = %s, want a 127.0.0.1 address", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}
