package http

import (
	"io"

	"github.com/valyala/fasthttp"

	"github.com/tiffin-ml/tiffin/runtime"
)

// drainLimit is how much of an oversized body is read and discarded before
// answering 413, so that clients which send the whole body before reading
// the response see the 413 rather than a reset connection.
const drainLimit = 16 << 20

// readBody returns the request body, holding the configured limit. Bodies
// within the limit were already buffered by fasthttp; a larger one is
// refused (413) and never read into memory.
func (s *Server) readBody(ctx *fasthttp.RequestCtx) ([]byte, error) {
	limit := s.opts.MaxBodyBytes
	n := ctx.Request.Header.ContentLength()
	if n > limit {
		refuseBody(ctx)
		return nil, errBodyTooLarge(limit)
	}
	if n >= 0 {
		return ctx.PostBody(), nil
	}
	// Chunked: read at most one byte past the limit to tell.
	stream := ctx.RequestBodyStream()
	if stream == nil {
		return ctx.PostBody(), nil
	}
	b, err := io.ReadAll(io.LimitReader(stream, int64(limit)+1))
	if err != nil {
		return nil, runtime.Errorf(runtime.KindInvalidArgument, "read request body: %v", err)
	}
	if len(b) > limit {
		ctx.SetConnectionClose()
		return nil, errBodyTooLarge(limit)
	}
	return b, nil
}

// refuseBody reads and discards a bounded part of a body the server will
// not take, then closes the connection after the answer.
func refuseBody(ctx *fasthttp.RequestCtx) {
	if stream := ctx.RequestBodyStream(); stream != nil {
		_, _ = io.CopyN(io.Discard, stream, drainLimit)
	}
	ctx.SetConnectionClose()
}

func errBodyTooLarge(limit int) error {
	return runtime.Errorf(runtime.KindTooLarge, "request body is larger than the %d-byte limit (--max-body-bytes)", limit)
}
