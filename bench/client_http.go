package bench

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/transport/v2client"
)

// HTTPTarget speaks KServe V2 over HTTP/1.1 through v2client (fasthttp's
// client: keep-alive connections, as many as the load needs). Binary
// selects Triton's binary tensor extension instead of JSON, both ways.
type HTTPTarget struct {
	c      *v2client.HTTP
	binary bool
}

// NewHTTPTarget returns a target for the server at rawURL ("host:port",
// "http://host:port" or "https://host:port"), keeping up to conns
// connections open; tlsCfg, when not nil, is how an https:// one is reached.
func NewHTTPTarget(rawURL string, binary bool, conns int, timeout time.Duration, tlsCfg *tls.Config) (*HTTPTarget, error) {
	c, err := v2client.NewHTTP(rawURL, conns, timeout, tlsCfg)
	if err != nil {
		return nil, err
	}
	return &HTTPTarget{c: c, binary: binary}, nil
}

// SetToken makes every later request carry the bearer token (a server's
// --inference-token); "" sends none. Call it before the load starts.
func (t *HTTPTarget) SetToken(token string) { t.c.SetToken(token) }

// Protocol is http-json or http-binary.
func (t *HTTPTarget) Protocol() string {
	if t.binary {
		return "http-binary"
	}
	return "http-json"
}

// Address is the server's base URL.
func (t *HTTPTarget) Address() string { return t.c.Base() }

// Close closes idle connections.
func (t *HTTPTarget) Close() error { return t.c.Close() }

// Metadata reads GET /v2/models/<model>.
func (t *HTTPTarget) Metadata(ctx context.Context, model string) (backends.Metadata, error) {
	path := v2client.ModelPath(model, "")
	code, body, err := t.c.Get(ctx, path)
	switch {
	case err != nil:
		return backends.Metadata{}, err
	case code == fasthttp.StatusNotFound:
		return backends.Metadata{}, fmt.Errorf("%w %q: the server at %s does not have it (%s)", ErrUnknownModel, model, t.c.Base(), v2client.ErrorText(body))
	case code != fasthttp.StatusOK:
		return backends.Metadata{}, fmt.Errorf("GET %s: HTTP %d: %s", path, code, v2client.ErrorText(body))
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
	path := v2client.ModelPath(model, "") + "/stats"
	code, body, err := t.c.Get(ctx, path)
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
	call, err := t.c.Prepare(v2client.Request{Model: model, Inputs: inputs, Binary: t.binary})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, _ int) (int, error) {
		if err := call.Send(ctx); err != nil {
			return 0, err
		}
		return rows, nil
	}, nil
}
