package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tiffin-ml/tiffin/backends"
)

// HTTPTarget speaks KServe V2 over HTTP/1.1 with fasthttp's client:
// keep-alive connections, as many as the load needs. Binary selects
// Triton's binary tensor extension instead of JSON, both ways.
type HTTPTarget struct {
	base    string // scheme://host:port
	binary  bool
	timeout time.Duration
	hc      *fasthttp.HostClient
}

// NewHTTPTarget returns a target for the server at rawURL ("host:port" or
// "http://host:port"), keeping up to conns connections open.
func NewHTTPTarget(rawURL string, binary bool, conns int, timeout time.Duration) (*HTTPTarget, error) {
	if !strings.Contains(rawURL, "://") {
		rawURL = "http://" + rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("--http %q: want host:port or http://host:port", rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	hc := &fasthttp.HostClient{
		Addr: addr, IsTLS: u.Scheme == "https", MaxConns: max(conns, 1),
		MaxConnWaitTimeout: timeout, MaxIdleConnDuration: time.Minute,
	}
	return &HTTPTarget{base: u.Scheme + "://" + addr, binary: binary, timeout: timeout, hc: hc}, nil
}

// Protocol is http-json or http-binary.
func (t *HTTPTarget) Protocol() string {
	if t.binary {
		return "http-binary"
	}
	return "http-json"
}

// Address is the server's base URL.
func (t *HTTPTarget) Address() string { return t.base }

// Close closes idle connections.
func (t *HTTPTarget) Close() error {
	t.hc.CloseIdleConnections()
	return nil
}

// get fetches a path; a transport failure wraps ErrUnreachable.
func (t *HTTPTarget) get(ctx context.Context, path string) (int, []byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(t.base + path)
	if err := t.hc.DoDeadline(req, resp, t.deadline(ctx)); err != nil {
		return 0, nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, t.base, err)
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), nil
}

func (t *HTTPTarget) deadline(ctx context.Context) time.Time {
	d := time.Now().Add(t.timeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		return cd
	}
	return d
}

// Metadata reads GET /v2/models/<model>.
func (t *HTTPTarget) Metadata(ctx context.Context, model string) (backends.Metadata, error) {
	path := "/v2/models/" + url.PathEscape(model)
	code, body, err := t.get(ctx, path)
	switch {
	case err != nil:
		return backends.Metadata{}, err
	case code == fasthttp.StatusNotFound:
		return backends.Metadata{}, fmt.Errorf("%w %q: the server at %s does not have it (%s)", ErrUnknownModel, model, t.base, errorText(body))
	case code != fasthttp.StatusOK:
		return backends.Metadata{}, fmt.Errorf("GET %s: HTTP %d: %s", path, code, errorText(body))
	}
	var md struct {
		Inputs  []wireSpec `json:"inputs"`
		Outputs []wireSpec `json:"outputs"`
	}
	if err := json.Unmarshal(body, &md); err != nil {
		return backends.Metadata{}, fmt.Errorf("GET %s: not V2 model metadata: %v", path, err)
	}
	return metadataFrom(model, md.Inputs, md.Outputs)
}

// Stats reads Triton's GET /v2/models/<model>/stats.
func (t *HTTPTarget) Stats(ctx context.Context, model string) (ServerStats, error) {
	path := "/v2/models/" + url.PathEscape(model) + "/stats"
	code, body, err := t.get(ctx, path)
	if err != nil {
		return ServerStats{}, err
	}
	if code != fasthttp.StatusOK {
		return ServerStats{}, fmt.Errorf("GET %s: HTTP %d", path, code)
	}
	var st struct {
		ModelStats []struct {
			InferenceCount *uint64 `json:"inference_count"`
			ExecutionCount *uint64 `json:"execution_count"`
			InferenceStats struct {
				Queue        Span `json:"queue"`
				ComputeInfer Span `json:"compute_infer"`
			} `json:"inference_stats"`
			BatchStats []struct {
				BatchSize    int  `json:"batch_size"`
				ComputeInfer Span `json:"compute_infer"`
			} `json:"batch_stats"`
		} `json:"model_stats"`
	}
	if err := json.Unmarshal(body, &st); err != nil || len(st.ModelStats) == 0 {
		return ServerStats{}, fmt.Errorf("GET %s: no model_stats in the answer", path)
	}
	var s ServerStats
	for _, m := range st.ModelStats {
		if m.InferenceCount == nil || m.ExecutionCount == nil {
			return ServerStats{}, fmt.Errorf("GET %s: model_stats lack inference_count or execution_count", path)
		}
		v := ServerStats{Inferences: *m.InferenceCount, Executions: *m.ExecutionCount,
			Queue: m.InferenceStats.Queue, Compute: m.InferenceStats.ComputeInfer, Batches: map[int]Span{}}
		for _, b := range m.BatchStats {
			v.Batches[b.BatchSize] = b.ComputeInfer
		}
		s.add(v)
	}
	return s, nil
}

// Caller encodes the request once; each call posts the same bytes.
func (t *HTTPTarget) Caller(model string, inputs []backends.Tensor, rows int) (Call, error) {
	body, headerLen, err := encodeV2(inputs, t.binary)
	if err != nil {
		return nil, err
	}
	uri := t.base + "/v2/models/" + url.PathEscape(model) + "/infer"
	return func(ctx context.Context, _ int) (int, error) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI(uri)
		req.Header.SetMethod(fasthttp.MethodPost)
		if headerLen >= 0 {
			req.Header.SetContentType("application/octet-stream")
			req.Header.Set("Inference-Header-Content-Length", strconv.Itoa(headerLen))
		} else {
			req.Header.SetContentType("application/json")
		}
		req.SetBodyRaw(body)
		// Not ctx's deadline: a request in flight when a level ends is
		// answered and counted, not failed.
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if err := t.hc.DoTimeout(req, resp, t.timeout); err != nil {
			return 0, err
		}
		if code := resp.StatusCode(); code != fasthttp.StatusOK {
			return 0, fmt.Errorf("HTTP %d: %s", code, errorText(resp.Body()))
		}
		return rows, nil
	}, nil
}

// errorText is a V2 error body's message, or the start of the body.
func errorText(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	if len(body) > 200 {
		body = body[:200]
	}
	return strings.TrimSpace(string(body))
}
