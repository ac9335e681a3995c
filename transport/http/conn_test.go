package http

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// lazyPair is a loopback connection whose server end is a lazyConn.
func lazyPair(t *testing.T) (client io.ReadWriter, server *lazyConn) {
	c, s := tcpPair(t)
	return c, &lazyConn{Conn: s}
}

// A read deadline moved later does not end a read at the earlier one.
func TestLazyConnReadDeadlineMovedLater(t *testing.T) {
	client, server := lazyPair(t)
	if err := server.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := server.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		_, _ = client.Write([]byte("late"))
	}()
	buf := make([]byte, 4)
	if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "late" {
		t.Fatalf("read %q, %v; want the bytes sent after the first deadline", buf, err)
	}
}

// The deadline asked for is met, and one moved earlier applies at once.
func TestLazyConnReadDeadlineMet(t *testing.T) {
	_, server := lazyPair(t)
	if err := server.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := server.SetReadDeadline(start.Add(30 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	if _, err := server.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want a deadline error", err)
	}
	if waited := time.Since(start); waited < 30*time.Millisecond || waited > 5*time.Second {
		t.Fatalf("the 30 ms deadline fired after %v", waited)
	}
	if err := server.SetReadDeadline(time.Unix(1, 0)); err != nil { // a wake-up, as watchHangup's
		t.Fatal(err)
	}
	if _, err := server.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after a past deadline: %v", err)
	}
	// No deadline, moved later than any: reads block again until data.
	if err := server.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := server.Read(buf); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("read returned %v with no deadline and no data", err)
	case <-time.After(50 * time.Millisecond):
	}
	_ = server.Conn.Close()
	if err := <-done; err == nil {
		t.Fatal("read returned no error after the close")
	}
}

// A write blocked past a write deadline since moved later completes: the
// part written before the first deadline fired is not written twice.
func TestLazyConnWriteDeadlineMovedLater(t *testing.T) {
	client, server := lazyPair(t)
	if err := server.SetWriteDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := server.SetWriteDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 32<<20) // more than the socket buffers hold
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	got := make(chan []byte, 1)
	go func() {
		time.Sleep(100 * time.Millisecond) // the first deadline passes with the write blocked
		b, _ := io.ReadAll(io.LimitReader(client, int64(len(payload))))
		got <- b
	}()
	if n, err := server.Write(payload); err != nil || n != len(payload) {
		t.Fatalf("wrote %d of %d bytes: %v", n, len(payload), err)
	}
	if b := <-got; !bytes.Equal(b, payload) {
		t.Fatalf("the client read %d bytes that differ from those written", len(b))
	}
}

// A connection joins the set once; its moves between active and idle,
// made without connMu, still show in connStates.
func TestTrackConnStates(t *testing.T) {
	_, raw := tcpPair(t)
	cc := newCountingConn(raw)
	s := &Server{conns: map[net.Conn]fasthttp.ConnState{}}
	want := func(state string, n int) {
		t.Helper()
		got := s.connStates()
		if got[state] != n || len(got) > 1 || (n == 0 && len(got) != 0) {
			t.Fatalf("connStates = %v, want %d %s", got, n, state)
		}
	}
	s.trackConn(cc, fasthttp.StateNew)
	want("new", 1)
	s.trackConn(cc, fasthttp.StateActive)
	want("active", 1)
	s.trackConn(cc, fasthttp.StateIdle)
	want("idle", 1)
	s.trackConn(cc, fasthttp.StateClosed)
	want("idle", 0)
}
