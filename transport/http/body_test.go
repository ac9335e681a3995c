package http

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/runtime/config"
	"github.com/tiffin-ml/tiffin/transport"
	"github.com/tiffin-ml/tiffin/transport/internal/transporttest"
)

// A chunked body whose connection ends within a chunk, or between two
// chunks before the last (zero-length) one, is refused as cut short, not
// run as though the bytes so far were all of it; a whole one is served.
//
// The whole body is sent without half-closing: a client that closes its
// sending side while its request waits is taken as hung up (waits.go), as
// Go's net/http does, so a half-close would make the answer a race between
// the fake backend and the hangup watch.
func TestChunkedBodyCutShort(t *testing.T) {
	s := startFake(t)
	body := `{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}`
	send := func(chunks string, halfClose bool) string {
		c := dialFake(t, s)
		defer c.Close()
		req := "POST /v2/models/m/infer HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		if halfClose {
			_ = c.CloseWrite()
		}
		resp, _ := io.ReadAll(c) // the server closes after its answer
		return string(resp)
	}
	whole := send("4a\r\n"+body+"\r\n0\r\n\r\n", false)
	if !strings.HasPrefix(whole, "HTTP/1.1 200") {
		t.Fatalf("a whole chunked body: %.200s", whole)
	}
	cut := send("4a\r\n"+body[:40], true)
	if !strings.HasPrefix(cut, "HTTP/1.1 400") || !strings.Contains(cut, "ended within a chunk") {
		t.Fatalf("a chunk cut short: %.300s; want 400 naming it", cut)
	}
	between := send("28\r\n"+body[:40]+"\r\n22\r\n"+body[40:]+"\r\n", true)
	if !strings.HasPrefix(between, "HTTP/1.1 400") || !strings.Contains(between, "ended between two chunks") {
		t.Fatalf("a body cut between two chunks: %.300s; want 400 naming it", between)
	}
}

// A body whose connection ends before the bytes its Content-Length
// announced is a 400 naming the cut, as a chunked one is.
func TestContentLengthBodyCutShort(t *testing.T) {
	s := startFake(t)
	c := dialFake(t, s)
	defer c.Close()
	if _, err := io.WriteString(c, "POST /v2/models/m/infer HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{\"inp"); err != nil {
		t.Fatal(err)
	}
	_ = c.CloseWrite()
	resp, _ := io.ReadAll(c)
	if got := string(resp); !strings.HasPrefix(got, "HTTP/1.1 400") ||
		!strings.Contains(got, "the connection ended before the body had all the bytes its Content-Length announced") {
		t.Fatalf("a body cut short: %q; want 400 naming the cut", got)
	}
}

// "Expect: 100-continue" with a body announced over the limit is answered
// 413 at once, with the JSON error naming the limit, not invited; within
// the limit it is invited.
func TestExpectContinue(t *testing.T) {
	s := startFake(t)
	first := func(length int64) string {
		c := dialFake(t, s)
		defer c.Close()
		fmt.Fprintf(c, "POST /v2/models/m/infer HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", length)
		line, _ := bufio.NewReader(c).ReadString('\n')
		return line
	}
	c := dialFake(t, s)
	fmt.Fprintf(c, "POST /v2/models/m/infer HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000000\r\nExpect: 100-continue\r\n\r\n")
	resp, _ := io.ReadAll(c) // the server closes after it
	c.Close()
	if got := string(resp); !strings.HasPrefix(got, "HTTP/1.1 413") || !strings.Contains(got, "application/json") ||
		!strings.Contains(got, `{"error":"request body is larger than the 65536-byte limit (--max-body-bytes)"}`) {
		t.Fatalf("10 GB announced: %q, want 413 at once with the JSON error", got)
	}
	if got := first(100); !strings.HasPrefix(got, "HTTP/1.1 100") {
		t.Fatalf("100 bytes announced: %q, want 100 Continue", got)
	}
}

// A client that sends a whole oversized body before it reads (as
// tritonclient does) reads the 413, not a reset connection, when the body
// is within oversizeDrain times the limit, even past drainLimit.
func TestOversizedBodySentWholeReadsThe413(t *testing.T) {
	m, _ := transporttest.Manager(t, map[string]string{"m": ""})
	s := New(m, Options{Addr: "127.0.0.1:0", MaxBodyBytes: 8 << 20, Logger: transporttest.Quiet})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	transporttest.StopAtCleanup(t, "shutdown", s.Shutdown)
	c := dialFake(t, s)
	defer c.Close()
	n := drainLimit + 8<<20 // 24 MiB against an 8 MiB limit
	fmt.Fprintf(c, "POST /v2/models/m/infer HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n", n)
	if _, err := c.Write(make([]byte, n)); err != nil {
		t.Fatalf("sending the body: %v (the server gave up on it)", err)
	}
	resp, err := io.ReadAll(c)
	if got := string(resp); !strings.HasPrefix(got, "HTTP/1.1 413") || !strings.Contains(got, "--max-body-bytes") {
		t.Fatalf("%d bytes sent whole: %q, %v; want the 413", n, got, err)
	}
}

// A body announced far past the limit is not read without bound: the
// server stops after drainLimit and closes, whatever the client sends.
func TestHugeBodyIsNotReadWhole(t *testing.T) {
	s := startFake(t)
	c := dialFake(t, s)
	defer c.Close()
	fmt.Fprintf(c, "POST /v2/models/m/infer HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n", int64(1)<<40)
	chunk := make([]byte, 1<<20)
	sent := 0
	for sent < 256<<20 {
		n, err := c.Write(chunk)
		sent += n
		if err != nil {
			break
		}
	}
	if sent >= 256<<20 {
		t.Fatalf("the server read %d MiB of a body announced at 1 TiB against a 64 KiB limit", sent>>20)
	}
}

// dialFake connects to s for a hand-written request, with a deadline so a
// server that never answers fails the test rather than hanging it.
func dialFake(t *testing.T, s *Server) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c.(*net.TCPConn)
}

// startFake starts a server on a loopback port over the fake backend's
// model "m" (FP32 x [-1, 4]), with a 64 KiB body limit.
func startFake(t *testing.T) *Server {
	t.Helper()
	m, _ := transporttest.Manager(t, map[string]string{"m": ""})
	s := New(m, Options{Addr: "127.0.0.1:0", MaxBodyBytes: 1 << 16, Logger: transporttest.Quiet,
		Access: transport.Access{Mode: config.ControlExplicit}})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	transporttest.StopAtCleanup(t, "shutdown", s.Shutdown)
	return s
}

// Headers past the read buffer are answered 431 with the JSON error, and
// the answer never quotes the request back: fasthttp's own message held
// the buffer's contents, an Authorization header among them.
func TestHeadersTooLarge(t *testing.T) {
	s := startFake(t)
	c := dialFake(t, s)
	defer c.Close()
	fmt.Fprintf(c, "GET /v2/health/ready HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer s3cret\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 20000))
	resp, _ := io.ReadAll(c) // the server closes after it
	got := string(resp)
	if !strings.HasPrefix(got, "HTTP/1.1 431") || !strings.Contains(got, "larger than the server's 16384-byte read buffer") {
		t.Fatalf("20 KB of headers: %.300q, want 431 naming the buffer", got)
	}
	if strings.Contains(got, "s3cret") || strings.Contains(got, "aaaa") {
		t.Fatalf("the answer quotes the request: %.300q", got)
	}
}
