package http

import (
	"errors"
	"io"
	"net"
	"os"
	"reflect"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tiffin-ml/tiffin/runtime"
)

// drainLimit is how much of a refused body is read and discarded at least
// before the answer, when it is not read whole (discardBody).
const drainLimit = 16 << 20

// controlBodyLimit bounds the bodies of the control routes (repository
// index, load, unload): they carry a few parameters at most.
const controlBodyLimit = 64 << 10

// chunkStep is how much of a chunked body is read (and reserved) at once.
const chunkStep = 256 << 10

// costFactor is how many bytes an inference request is charged against the
// in-flight budget per body byte: the body itself, the tensors decoded from
// it, and the response.
const costFactor = 3

// readBody reads the request body into memory the request owns (fasthttp
// keeps at most its first 8 KiB; the rest is streamed), refusing it with 413
// as soon as it is known to be over limit: from Content-Length before a
// byte is read, or while a chunked body streams. Every byte read is first
// reserved from the in-flight budget, factor times over; the caller gives
// the reservation back with s.budget.Release(held). The body must arrive
// within BodyTimeout (408 otherwise).
func (s *Server) readBody(ctx *fasthttp.RequestCtx, limit int, what string, factor int64) (body []byte, held int64, err error) {
	return s.readBodyInto(ctx, nil, limit, what, factor)
}

// readBodyInto is readBody reading into buf's backing array when the body
// is known to fit it. A compressed body (Content-Encoding) is inflated
// (encoding.go).
func (s *Server) readBodyInto(ctx *fasthttp.RequestCtx, buf []byte, limit int, what string, factor int64) (body []byte, held int64, err error) {
	enc, err := contentEncoding(ctx)
	if err != nil {
		s.refuseBody(ctx)
		return nil, 0, err
	}
	if enc != encIdentity {
		return s.readEncodedBody(ctx, enc, limit, what, factor)
	}
	return s.readPlainBody(ctx, buf, limit, what, factor)
}

// readPlainBody is readBodyInto for the body's bytes as they came.
func (s *Server) readPlainBody(ctx *fasthttp.RequestCtx, buf []byte, limit int, what string, factor int64) (body []byte, held int64, err error) {
	n := ctx.Request.Header.ContentLength()
	if n > limit {
		s.refuseOversized(ctx, limit)
		return nil, 0, errBodyTooLarge(limit, what)
	}
	stream := ctx.RequestBodyStream()
	if stream == nil { // not streamed: a copy the request owns
		return append(buf[:0], ctx.PostBody()...), 0, nil
	}
	if s.opts.BodyTimeout > 0 {
		_ = ctx.Conn().SetReadDeadline(time.Now().Add(s.opts.BodyTimeout))
	}
	if n >= 0 {
		if err := s.budget.Reserve(factor * int64(n)); err != nil {
			s.refuseBody(ctx)
			return nil, 0, err
		}
		if cap(buf) >= n {
			body = buf[:n]
		} else {
			body = make([]byte, n)
		}
		if _, err := io.ReadFull(stream, body); err != nil {
			s.budget.Release(factor * int64(n))
			ctx.SetConnectionClose()
			return nil, 0, bodyReadError(err)
		}
		return body, factor * int64(n), nil
	}
	return s.readChunked(ctx, chunkedBody{r: stream}, limit, what, factor)
}

// readChunked reads a body of unknown length step by step, reserving each
// step before it is read, and stops one byte past the limit.
func (s *Server) readChunked(ctx *fasthttp.RequestCtx, stream io.Reader, limit int, what string, factor int64) ([]byte, int64, error) {
	var body []byte
	var held int64
	fail := func(err error) ([]byte, int64, error) {
		s.budget.Release(held)
		ctx.SetConnectionClose()
		return nil, 0, err
	}
	for {
		step := min(chunkStep, limit+1-len(body))
		if err := s.budget.Reserve(factor * int64(step)); err != nil {
			return fail(err)
		}
		held += factor * int64(step)
		body = append(body, make([]byte, step)...)
		got, err := runtime.ReadFill(stream, body[len(body)-step:])
		body = body[:len(body)-step+got]
		switch {
		case len(body) > limit:
			s.refuseOversized(ctx, limit) // drain a bounded part, so the client reads the 413
			return fail(errBodyTooLarge(limit, what))
		case err == io.EOF: // after the last chunk (chunkedBody names a cut)
			return body, held, nil
		case err != nil:
			return fail(bodyReadError(err))
		}
	}
}

// bodyReadError names why a body could not be read: too slow (408) or cut.
func bodyReadError(err error) error {
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return runtime.Errorf(runtime.KindRequestTimeout, "the request body did not arrive in time (--body-read-timeout)")
	}
	return runtime.Errorf(runtime.KindInvalidArgument, "read request body: %v", err)
}

// refuseBody reads and discards a body the server will not take (the
// caller is not authorized, the model is not there, the budget is spent),
// then closes the connection after the answer, so that clients which send
// the whole body before reading the response see the answer rather than a
// reset connection. Reading to discard holds no memory; it reads the whole
// body when that is within --max-body-bytes, else drainLimit, within the
// body timeout.
func (s *Server) refuseBody(ctx *fasthttp.RequestCtx) {
	s.discardBody(ctx, int64(s.opts.MaxBodyBytes))
}

// refuseOversized is refuseBody for a body refused for its size alone, past
// limit: it reads up to oversizeDrain times the limit, so that a client
// that sends a body somewhat over it whole before reading (tritonclient,
// which met a reset with 70 MiB against 64) reads the 413. The client pays
// a byte sent for each byte read; a body announced larger still is cut
// after drainLimit, as an unauthorized one is, so no request makes the
// server read without bound.
func (s *Server) refuseOversized(ctx *fasthttp.RequestCtx, limit int) {
	s.discardBody(ctx, oversizeDrain*int64(limit))
}

// oversizeDrain is how many times its limit an oversized body is read to
// be discarded (refuseOversized).
const oversizeDrain = 4

// discardBody reads and discards the body a Content-Length announces when
// it is within most (or drainLimit), else drainLimit of it, and closes the
// connection after the answer.
func (s *Server) discardBody(ctx *fasthttp.RequestCtx, most int64) {
	n := ctx.Request.Header.ContentLength()
	if n == 0 {
		return
	}
	drain := int64(drainLimit)
	if n > 0 && int64(n) <= max(most, drainLimit) {
		drain = int64(n)
	}
	if stream := ctx.RequestBodyStream(); stream != nil {
		_ = ctx.Conn().SetReadDeadline(time.Now().Add(s.opts.BodyTimeout))
		_, _ = io.CopyN(io.Discard, stream, drain)
	}
	ctx.SetConnectionClose()
}

// errBodyTooLarge says which limit a body broke; what names it (a flag).
func errBodyTooLarge(limit int, what string) error {
	return runtime.Errorf(runtime.KindTooLarge, "request body is larger than the %d-byte limit (%s)", limit, what)
}

// chunkedBody passes a chunked body stream through, naming where the
// connection ended before the body's last, zero-length chunk: within a
// chunk (the stream's io.ErrUnexpectedEOF), or between two, where
// fasthttp's stream returns a plain io.EOF, as at the last chunk. Only the
// stream's own eof field, set at the last chunk, tells those two apart,
// and it is read by reflection (TestChunkedBodyCutShort fails if a
// fasthttp upgrade renames it); a stream without that field is trusted.
type chunkedBody struct{ r io.Reader }

func (c chunkedBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	switch {
	case err == io.EOF && !sawLastChunk(c.r):
		return n, runtime.Errorf(runtime.KindInvalidArgument,
			"the connection ended between two chunks of the chunked body, before its last (zero-length) chunk")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return n, runtime.Errorf(runtime.KindInvalidArgument, "the connection ended within a chunk of the chunked body")
	}
	return n, err
}

func sawLastChunk(stream io.Reader) bool {
	v := reflect.ValueOf(stream)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return true
	}
	eof := v.Elem().FieldByName("eof")
	return !eof.IsValid() || eof.Kind() != reflect.Bool || eof.Bool()
}
