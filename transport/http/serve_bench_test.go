package http_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strconv"
	"testing"

	"github.com/tiffin-ml/tiffin/runtime/config"
	"github.com/tiffin-ml/tiffin/transport"
	httpt "github.com/tiffin-ml/tiffin/transport/http"
	"github.com/tiffin-ml/tiffin/transport/internal/transporttest"
)

// BenchmarkServeInfer measures the whole HTTP inference path in one
// process: a real server on a loopback port over the fake backend, and
// clients that keep their connections alive and write prebuilt requests.
// The clients allocate nothing per request, so allocs/op are the server's:
// the figure to watch, since ns/op includes the clients and the loopback.
func BenchmarkServeInfer(b *testing.B) {
	m, _ := transporttest.Manager(b, map[string]string{"m": ""})
	s := httpt.New(m, httpt.Options{Addr: "127.0.0.1:0", MaxBodyBytes: 1 << 20, Logger: quiet,
		Access: transport.Access{Mode: config.ControlExplicit}})
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	transporttest.StopAtCleanup(b, "shutdown", s.Shutdown)
	jsonBody := []byte(`{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[0.5,1.25,-2,3.75]}]}`)
	header := []byte(`{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","parameters":{"binary_data_size":16}}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}`)
	binBody := append(append([]byte(nil), header...), make([]byte, 16)...)
	for _, enc := range []string{"json", "binary"} {
		body, extra := jsonBody, ""
		if enc == "binary" {
			body, extra = binBody, "Inference-Header-Content-Length: "+strconv.Itoa(len(header))+"\r\n"
		}
		req := []byte(fmt.Sprintf("POST /v2/models/m/infer HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s",
			extra, len(body), body))
		for _, clients := range []int{1, 32} {
			b.Run(fmt.Sprintf("enc=%s/clients=%d", enc, clients), func(b *testing.B) {
				benchClients(b, s.Addr(), req, clients)
			})
		}
	}
}

// benchClients runs b.N requests over clients connections at once.
func benchClients(b *testing.B, addr string, req []byte, clients int) {
	conns := make([]*rawClient, clients)
	for i := range conns {
		c, err := dialRaw(addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.conn.Close()
		if err := c.do(req); err != nil { // connect and warm
			b.Fatal(err)
		}
		conns[i] = c
	}
	calls := make([]func() error, len(conns))
	for i, c := range conns {
		calls[i] = func() error { return c.do(req) }
	}
	transporttest.Clients(b, calls)
}

// rawClient speaks just enough HTTP/1.1 to send a request and read a
// response with a Content-Length, allocating nothing once warm.
type rawClient struct {
	conn net.Conn
	r    *bufio.Reader
	body []byte
}

func dialRaw(addr string) (*rawClient, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &rawClient{conn: c, r: bufio.NewReaderSize(c, 16<<10), body: make([]byte, 0, 16<<10)}, nil
}

var contentLength = []byte("content-length:")

func (c *rawClient) do(req []byte) error {
	if _, err := c.conn.Write(req); err != nil {
		return err
	}
	status, n := 0, -1
	for first := true; ; first = false {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if first {
			if len(line) < 12 {
				return fmt.Errorf("bad status line %q", line)
			}
			status = atoi(line[9:12])
			continue
		}
		if len(line) == 0 {
			break
		}
		if len(line) > len(contentLength) && asciiLowerPrefix(line, contentLength) {
			n = atoi(bytes.TrimSpace(line[len(contentLength):]))
		}
	}
	if n < 0 {
		return fmt.Errorf("response without Content-Length")
	}
	c.body = c.body[:0]
	for len(c.body) < n {
		chunk, err := c.r.Peek(min(n-len(c.body), c.r.Size()))
		if err != nil && len(chunk) == 0 {
			return err
		}
		c.body = append(c.body, chunk...)
		_, _ = c.r.Discard(len(chunk))
	}
	if status != 200 {
		return fmt.Errorf("status %d: %s", status, c.body)
	}
	return nil
}

func atoi(b []byte) int {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func asciiLowerPrefix(line, prefix []byte) bool {
	for i, p := range prefix {
		c := line[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p {
			return false
		}
	}
	return true
}
