package faults

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// TCPProxy forwards TCP connections to a server and can stall or throttle what the
// server sends back. Its methods are safe for concurrent use.
type TCPProxy struct {
	ln     net.Listener
	target string
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	mu         sync.Mutex
	conns      map[net.Conn]struct{}
	stallAfter int64 // bytes per connection towards the client before the stall; < 0 never
	rate       int64 // bytes per second towards the client; 0 unlimited
	stalls     int
}

// StartTCP starts a proxy on 127.0.0.1 in front of the server at target (host:port).
func StartTCP(target string) (*TCPProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faults: listen: %w", err)
	}
	p := &TCPProxy{ln: ln, target: target, closed: make(chan struct{}), conns: map[net.Conn]struct{}{},
		stallAfter: -1}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's address, 127.0.0.1:PORT.
func (p *TCPProxy) Addr() string { return p.ln.Addr().String() }

// StallAfter makes every new connection stop forwarding towards the client once it
// has forwarded n bytes. The connection stays open, silent, until the client or the
// proxy closes it, as a network path that stops moving.
func (p *TCPProxy) StallAfter(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stallAfter = n
}

// Throttle limits what new connections forward towards the client to bytesPerSecond.
func (p *TCPProxy) Throttle(bytesPerSecond int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate = bytesPerSecond
}

// Heal makes new connections forward freely again.
func (p *TCPProxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stallAfter, p.rate = -1, 0
}

// Stalls returns how many connections have stalled so far.
func (p *TCPProxy) Stalls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stalls
}

// Close stops accepting, closes every connection and waits for the proxy's goroutines.
func (p *TCPProxy) Close() error {
	var err error
	p.once.Do(func() {
		p.mu.Lock()
		close(p.closed)
		for c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
		err = p.ln.Close()
		p.wg.Wait()
	})
	return err
}

func (p *TCPProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.mu.Lock()
		stallAfter, rate := p.stallAfter, p.rate
		select {
		case <-p.closed: // Close ran between Accept and here: it did not see these connections
			p.mu.Unlock()
			_ = client.Close()
			_ = server.Close()
			return
		default:
		}
		p.conns[client], p.conns[server] = struct{}{}, struct{}{}
		p.mu.Unlock()

		done := make(chan struct{})
		var once sync.Once
		end := func() {
			once.Do(func() {
				close(done)
				_ = client.Close()
				_ = server.Close()
				p.mu.Lock()
				delete(p.conns, client)
				delete(p.conns, server)
				p.mu.Unlock()
			})
		}
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			defer end()
			_, _ = io.Copy(server, client)
		}()
		go func() {
			defer p.wg.Done()
			defer end()
			p.downstream(client, server, stallAfter, rate, done)
		}()
	}
}

// downstream copies from server to client, stalling after stallAfter bytes and pacing to rate.
func (p *TCPProxy) downstream(client, server net.Conn, stallAfter, rate int64, done <-chan struct{}) {
	chunk := int64(32 << 10)
	if rate > 0 {
		chunk = max(1, rate/20)
	}
	buf := make([]byte, chunk)
	var sent int64
	for {
		want := int64(len(buf))
		if stallAfter >= 0 {
			if sent >= stallAfter {
				p.mu.Lock()
				p.stalls++
				p.mu.Unlock()
				select { // hold the connection open and silent
				case <-done:
				case <-p.closed:
				}
				return
			}
			want = min(want, stallAfter-sent)
		}
		n, err := server.Read(buf[:want])
		if n > 0 {
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
			sent += int64(n)
			if rate > 0 {
				time.Sleep(time.Duration(int64(n) * int64(time.Second) / rate))
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return
			}
			if tc, ok := client.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			<-done // the client finishes its side
			return
		}
	}
}
