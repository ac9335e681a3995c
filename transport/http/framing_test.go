package http_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	stdhttp "net/http"
	"strings"
	"testing"
	"time"
)

// A request with both Transfer-Encoding and Content-Length is refused and
// its connection closed: a proxy that went by the Content-Length would
// take the chunked body's bytes for a request of its own (smuggling).
func TestTransferEncodingWithContentLengthClosesTheConnection(t *testing.T) {
	base, _, _ := serve(t, nil)
	body := `{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}`
	for _, headers := range []string{
		"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
		"Transfer-Encoding: chunked\r\ncontent-length: 4\r\n",
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", headers, len(body), body)
		fmt.Fprintf(conn, "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
		r := bufio.NewReader(conn)
		resp, err := stdhttp.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !resp.Close || !strings.Contains(string(msg), "both Transfer-Encoding and Content-Length") {
			t.Errorf("%q: %d %s (close %v), want 400 naming both headers, closing the connection", headers, resp.StatusCode, msg, resp.Close)
		}
		if next, err := stdhttp.ReadResponse(r, nil); err == nil {
			next.Body.Close()
			t.Errorf("%q: the request after it was answered too (%d): the connection stayed open", headers, next.StatusCode)
		}
		conn.Close()
	}
	// A chunked request alone is read as ever (a reader of unknown length
	// makes net/http send the body chunked).
	resp, err := stdhttp.Post(base+"/v2/models/m/infer", "application/json", io.MultiReader(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 {
		t.Fatalf("chunked request: %d %s", resp.StatusCode, got)
	}
}
