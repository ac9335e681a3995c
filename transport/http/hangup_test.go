//go:build linux || darwin

package http

import (
	"net"
	"testing"
	"time"
)

// A request still waiting after hangupDelay is watched: the client closing
// its connection cancels it. done ends the watch and leaves the connection
// usable.
func TestHangupsCancelAWaitingRequest(t *testing.T) {
	client, server := tcpPair(t)
	var h hangups
	cancelled := make(chan struct{})
	w := h.watch(server, func() { close(cancelled) })
	time.Sleep(4 * hangupDelay) // the ticker has started the watch
	client.Close()
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the hang-up did not cancel the waiting request")
	}
	h.done(w)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.waiting) != 0 {
		t.Fatalf("%d requests still registered after done", len(h.waiting))
	}
}

// A pipelined next request is data, not a hang-up: it stays in the socket
// for the server to read.
func TestHangupsLeavePipelinedData(t *testing.T) {
	client, server := tcpPair(t)
	var h hangups
	w := h.watch(server, func() { t.Error("cancelled on data") })
	time.Sleep(4 * hangupDelay)
	if _, err := client.Write([]byte("next")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	h.done(w)
	buf := make([]byte, 4)
	server.SetReadDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck
	if _, err := server.Read(buf); err != nil || string(buf) != "next" {
		t.Fatalf("read %q, %v; want the pipelined bytes", buf, err)
	}
}

// tcpPair is both ends of a loopback TCP connection, closed when the test
// ends.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Close() })
	return client, server
}
