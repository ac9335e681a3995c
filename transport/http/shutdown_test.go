package http

import (
	"context"
	"errors"
	"io"
	"net"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tiffin-ml/tiffin/runtime/config"
	"github.com/tiffin-ml/tiffin/transport"
	"github.com/tiffin-ml/tiffin/transport/internal/transporttest"
)

// A Shutdown right after Start returns, even when it runs before the
// serve goroutine has handed its listener to fasthttp (which then does
// not close it): with one P the serve goroutine usually has not run yet.
func TestShutdownRightAfterStart(t *testing.T) {
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(1))
	m, _ := transporttest.Manager(t, map[string]string{"m": ""})
	for i := range 50 {
		s := New(m, Options{Addr: "127.0.0.1:0", MaxBodyBytes: 1 << 16, Logger: transporttest.Quiet,
			Access: transport.Access{Mode: config.ControlExplicit}})
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		done := make(chan error, 1)
		go func() { done <- s.Shutdown(ctx) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("shutdown %d: %v", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("shutdown %d right after start did not return", i)
		}
		cancel()
	}
}

// closeLate closes a connection left open at once when no request is in
// flight, and otherwise once the requests in flight are done.
func TestCloseLate(t *testing.T) {
	client, raw := tcpPair(t)
	cc := newCountingConn(raw)
	s := &Server{conns: map[net.Conn]fasthttp.ConnState{}}
	s.trackConn(cc, fasthttp.StateNew)
	s.inflight.Store(1)
	tick := make(chan time.Time)
	done := make(chan struct{})
	go func() { s.closeLate(context.Background(), tick); close(done) }()
	// Two ticks taken while a request is in flight: the second is taken
	// only once closeLate has looked again, found it, and gone back to wait.
	tick <- time.Now()
	tick <- time.Now()
	select {
	case <-done:
		t.Fatal("closeLate returned while a request was in flight")
	default:
	}
	s.inflight.Store(0)
	select { // it may see the store before it waits again
	case tick <- time.Now():
	case <-done:
	}
	<-done
	buf := make([]byte, 1)
	if _, err := client.Read(buf); !errors.Is(err, io.EOF) {
		t.Fatalf("client read %v after closeLate, want EOF: the connection was not closed", err)
	}

	var none Server // nothing left open: returns at once
	none.conns = map[net.Conn]fasthttp.ConnState{}
	none.closeLate(context.Background(), nil)
}
