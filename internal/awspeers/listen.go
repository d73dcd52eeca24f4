package awspeers

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
)

// serve starts handler on a plain-HTTP listener bound to 127.0.0.1 only.
func serve(handler http.Handler) (*httptest.Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}

	srv := httptest.NewUnstartedServer(handler)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()

	return srv, nil
}
