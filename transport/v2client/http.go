package v2client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// ErrUnreachable wraps a failure to reach the server at all.
var ErrUnreachable = errors.New("server unreachable")

// HTTP speaks V2 over HTTP/1.1 with fasthttp's client: keep-alive
// connections, as many as the load needs. It is safe for concurrent use.
type HTTP struct {
	base    string // scheme://host:port
	timeout time.Duration
	hc      *fasthttp.HostClient
	auth    string // the Authorization header's value; "" for none
}

// NewHTTP returns a client for the server at rawURL ("host:port",
// "http://host:port" or "https://host:port"), keeping up to conns
// connections open. timeout bounds each request (and the wait for a free
// connection). tlsCfg (TLSFiles.Config), when not nil, is how an https://
// server is reached; the system's roots otherwise.
func NewHTTP(rawURL string, conns int, timeout time.Duration, tlsCfg *tls.Config) (*HTTP, error) {
	given := rawURL
	if !strings.Contains(rawURL, "://") {
		rawURL = "http://" + rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("--http %q: want host:port, http://host:port or https://host:port", rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	if tlsCfg != nil && u.Scheme != "https" {
		return nil, fmt.Errorf("--http %q is plain text, but a TLS option was given (--cacert, --cert, --key or --tls): use an https:// URL", given)
	}
	hc := &fasthttp.HostClient{
		Addr: addr, IsTLS: u.Scheme == "https", TLSConfig: tlsCfg, MaxConns: max(conns, 1),
		MaxConnWaitTimeout: timeout, MaxIdleConnDuration: time.Minute,
	}
	return &HTTP{base: u.Scheme + "://" + addr, timeout: timeout, hc: hc}, nil
}

// Base is the server's base URL, scheme://host:port.
func (c *HTTP) Base() string { return c.base }

// SetToken makes every later request carry the bearer token (a server's
// --inference-token); "" sends none. Call it before the client is shared.
func (c *HTTP) SetToken(token string) { c.auth = bearer(token) }

// bearer is the Authorization header's value for token; "" for none.
func bearer(token string) string {
	if token == "" {
		return ""
	}
	return "Bearer " + token
}

// Close closes idle connections.
func (c *HTTP) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

// Get fetches a path (such as /v2/models/m) and returns the status and a
// copy of the body; a transport failure wraps ErrUnreachable.
func (c *HTTP) Get(ctx context.Context, path string) (int, []byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(c.base + path)
	if c.auth != "" {
		req.Header.Set(fasthttp.HeaderAuthorization, c.auth)
	}
	if err := c.hc.DoDeadline(req, resp, c.deadline(ctx)); err != nil {
		return 0, nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, c.base, err)
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), nil
}

// deadline is the earlier of ctx's deadline and the client's timeout.
func (c *HTTP) deadline(ctx context.Context) time.Time {
	d := time.Now().Add(c.timeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		return cd
	}
	return d
}

// ModelPath is the V2 path of a model, or of one of its versions.
func ModelPath(model, version string) string {
	p := "/v2/models/" + url.PathEscape(model)
	if version != "" {
		p += "/versions/" + url.PathEscape(version)
	}
	return p
}

// HTTPCall is an encoded inference request, ready to send any number of
// times from any number of goroutines.
type HTTPCall struct {
	c         *HTTP
	uri       string
	body      []byte
	headerLen string // Inference-Header-Content-Length; "" for JSON
}

// Prepare encodes r once.
func (c *HTTP) Prepare(r Request) (*HTTPCall, error) {
	body, headerLen, err := EncodeHTTP(r)
	if err != nil {
		return nil, err
	}
	p := &HTTPCall{c: c, uri: c.base + ModelPath(r.Model, r.Version) + "/infer", body: body}
	if headerLen >= 0 {
		p.headerLen = strconv.Itoa(headerLen)
	}
	return p, nil
}

// do posts the request into resp and fails on a status other than 200.
func (p *HTTPCall) do(resp *fasthttp.Response, deadline time.Time) error {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI(p.uri)
	req.Header.SetMethod(fasthttp.MethodPost)
	if p.c.auth != "" {
		req.Header.Set(fasthttp.HeaderAuthorization, p.c.auth)
	}
	if p.headerLen != "" {
		req.Header.SetContentType("application/octet-stream")
		req.Header.Set("Inference-Header-Content-Length", p.headerLen)
	} else {
		req.Header.SetContentType("application/json")
	}
	req.SetBodyRaw(p.body)
	return p.c.hc.DoDeadline(req, resp, deadline)
}

// Send posts the request and discards the answer; it fails on a status
// other than 200. The client's timeout bounds it, not ctx's deadline, so a
// request in flight when a load level ends is answered and counted; ctx
// only stops a request that has not started.
func (p *HTTPCall) Send(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	if err := p.do(resp, time.Now().Add(p.c.timeout)); err != nil {
		return err
	}
	if code := resp.StatusCode(); code != fasthttp.StatusOK {
		return fmt.Errorf("HTTP %d: %s", code, ErrorText(resp.Body()))
	}
	return nil
}

// Infer posts the request, bounded by ctx and the client's timeout, and
// decodes the answer, binary outputs included.
func (p *HTTPCall) Infer(ctx context.Context) (*Response, error) {
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	if err := p.do(resp, p.c.deadline(ctx)); err != nil {
		return nil, fmt.Errorf("POST %s: %w", p.uri, err)
	}
	return decodeHTTP(resp.StatusCode(), string(resp.Header.Peek("Inference-Header-Content-Length")), resp.Body())
}
