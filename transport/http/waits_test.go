//go:build linux || darwin

package http

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// A request still waiting after hangupDelay is watched: the client closing
// its connection cancels it. done ends the watch and leaves the connection
// usable.
func TestHangupsCancelAWaitingRequest(t *testing.T) {
	client, server := tcpPair(t)
	h, ctx, w := startWait(server, time.Minute)
	time.Sleep(4 * hangupDelay) // the ticker has started the watch
	client.Close()
	select {
	case <-ctx.Done():
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Fatalf("ended with %v, want context.Canceled", ctx.Err())
		}
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
	h, ctx, w := startWait(server, time.Minute)
	time.Sleep(4 * hangupDelay)
	if _, err := client.Write([]byte("next")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	h.done(w)
	if ctx.Err() != nil {
		t.Fatalf("pipelined data ended the request: %v", ctx.Err())
	}
	buf := make([]byte, 4)
	server.SetReadDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck
	if _, err := server.Read(buf); err != nil || string(buf) != "next" {
		t.Fatalf("read %q, %v; want the pipelined bytes", buf, err)
	}
}

// A request whose deadline passes while it waits is ended with
// context.DeadlineExceeded within a few ticks, with no timer of its own. A
// context that was never ended keeps its channel for the next request; an
// ended one gets a fresh one.
func TestWaitsEndARequestAtItsDeadline(t *testing.T) {
	client, server := tcpPair(t)
	_ = client
	var h waits
	var ctx callContext
	ctx.reset(context.Background(), time.Now().Add(5*time.Millisecond))
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > 5*time.Millisecond {
		t.Fatalf("Deadline() = %v, %v", dl, ok)
	}
	w := &wait{}
	start := time.Now()
	h.watch(w, server, &ctx, time.Now())
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the deadline did not end the waiting request")
	}
	h.done(w)
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("ended with %v, want context.DeadlineExceeded", ctx.Err())
	}
	if waited := time.Since(start); waited < 5*time.Millisecond {
		t.Fatalf("ended after %v, before its deadline", waited)
	}
	ended := ctx.Done()
	ctx.reset(context.Background(), time.Now().Add(time.Minute))
	if ctx.Err() != nil || ctx.Done() == ended {
		t.Fatal("a reset after the context ended kept the closed channel")
	}
	live := ctx.Done()
	ctx.reset(context.Background(), time.Now().Add(time.Minute))
	if ctx.Done() != live {
		t.Fatal("a reset of a live context made a new channel")
	}
}

// startWait registers a request on conn whose deadline is timeout away.
func startWait(conn net.Conn, timeout time.Duration) (*waits, *callContext, *wait) {
	h, ctx, w := &waits{}, &callContext{}, &wait{}
	ctx.reset(context.Background(), time.Now().Add(timeout))
	h.watch(w, conn, ctx, time.Now())
	return h, ctx, w
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
