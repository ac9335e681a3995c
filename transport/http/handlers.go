package http

import (
	"encoding/json"

	"github.com/valyala/fasthttp"

	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/transport"
)

// Extensions lists the protocol extensions this front end speaks.
var Extensions = []string{"binary_tensor_data"}

func (s *Server) serverMetadata(ctx *fasthttp.RequestCtx) {
	md := map[string]any{"name": "tiffin", "version": s.opts.Version, "extensions": Extensions}
	if s.opts.Devices != nil {
		md["devices"] = s.opts.Devices
	}
	writeJSON(ctx, md)
}

func (s *Server) serverReady(ctx *fasthttp.RequestCtx) {
	if err := s.models.Readiness(s.opts.StrictReady); err != nil {
		replyError(ctx, err)
		return
	}
	replyHealth(ctx, readyBody)
}

// The health answers' bodies. The protocol asks only for the status (and
// Triton's clients read only that), but KServe's REST client reads "live"
// and "ready" from the body, as KServe's own server writes them.
var (
	liveBody  = []byte(`{"live":true}`)
	readyBody = []byte(`{"ready":true}`)
)

func replyHealth(ctx *fasthttp.RequestCtx, body []byte) {
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

func (s *Server) modelReady(ctx *fasthttp.RequestCtx, model string, version int64) {
	if _, err := transport.ReadyVersion(s.models, model, version); err != nil {
		replyError(ctx, err)
		return
	}
	replyHealth(ctx, readyBody)
}

func (s *Server) modelMetadata(ctx *fasthttp.RequestCtx, model string, version int64) {
	md, err := transport.ModelMetadata(s.models, model, version)
	s.writeMessage(ctx, md, err)
}

func writeJSON(ctx *fasthttp.RequestCtx, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		replyError(ctx, runtime.Errorf(runtime.KindInternal, "encode response: %v", err))
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
