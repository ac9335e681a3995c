package http

import (
	"context"
	"strconv"

	"github.com/valyala/fasthttp"
)

const headerLenKey = "Inference-Header-Content-Length"

// infer handles POST .../infer: decode, run, encode. The handler blocks
// until the runtime answers, so fasthttp's request buffers stay valid for
// the JSON part; the binary part is copied in decodeRequest.
func (s *Server) infer(ctx *fasthttp.RequestCtx, model string, version int64) {
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	if enc := ctx.Request.Header.Peek(fasthttp.HeaderContentEncoding); len(enc) > 0 && string(enc) != "identity" {
		replyError(ctx, invalid("Content-Encoding %q is not supported; send the body uncompressed", enc))
		return
	}
	headerLen, err := parseHeaderLen(ctx.Request.Header.Peek(headerLenKey))
	if err != nil {
		replyError(ctx, err)
		return
	}
	body, err := s.readBody(ctx)
	if err != nil {
		replyError(ctx, err)
		return
	}
	d, err := decodeRequest(body, headerLen)
	if err != nil {
		replyError(ctx, err)
		return
	}
	d.req.Model, d.req.Version = model, version
	resp, err := s.models.Infer(context.Background(), &d.req)
	if err != nil {
		replyError(ctx, err)
		return
	}
	body, jsonLen := encodeResponse(ctx.Response.Body()[:0], resp, d)
	if jsonLen >= 0 {
		ctx.Response.Header.Set(headerLenKey, strconv.Itoa(jsonLen))
		ctx.SetContentType("application/octet-stream")
	} else {
		ctx.SetContentType("application/json")
	}
	ctx.SetBody(body)
}
