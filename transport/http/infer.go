package http

import (
	"context"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/codes"

	"github.com/valyala/fasthttp"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/transport"
)

const headerLenKey = "Inference-Header-Content-Length"

// infer handles POST .../infer: decode, run, encode. The handler blocks
// until the runtime answers, so fasthttp's request buffers stay valid for
// the JSON part; the binary part is copied in decodeRequest.
func (s *Server) infer(ctx *fasthttp.RequestCtx, model string, version int64) {
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	start := time.Now()
	tctx, span := transport.StartInferSpan(context.Background(), headerCarrier{&ctx.Request.Header}, "http", model)
	answered := s.answerInfer(tctx, ctx, model, version)
	code := ctx.Response.StatusCode()
	if code >= 400 {
		span.SetStatus(codes.Error, string(ctx.Response.Body()))
	}
	span.End()
	s.opts.Observer.ObserveRequest(model, answered, "http", statusLabel(code), time.Since(start))
}

// statusLabel is code as a metric label, without an allocation for the
// usual answer.
func statusLabel(code int) string {
	if code == fasthttp.StatusOK {
		return "200"
	}
	return strconv.Itoa(code)
}

// answerInfer decodes, runs and encodes one request, and returns the
// version that answered (0 when none did).
func (s *Server) answerInfer(tctx context.Context, ctx *fasthttp.RequestCtx, model string, version int64) int64 {
	if err := s.opts.Access.AuthorizeInference(authHeader(ctx)); err != nil {
		s.refuseBody(ctx)
		replyError(ctx, err)
		return 0
	}
	if _, err := contentEncoding(ctx); err != nil { // before the model is looked up, as the header's other checks
		s.refuseBody(ctx)
		replyError(ctx, err)
		return 0
	}
	headerLen, err := parseHeaderLen(ctx.Request.Header.Peek(headerLenKey))
	if err != nil {
		replyError(ctx, err)
		return 0
	}
	// The route names the model: find it before reading the body, so a
	// request for a model that is not there costs nothing, and check the
	// tensors' shapes against it before any data is decoded. A model that
	// is not READY is refused for that (503), before its signature, which
	// an UNAVAILABLE model may not have, is checked.
	v, err := transport.ReadyVersion(s.models, model, version)
	if err != nil {
		s.refuseBody(ctx)
		replyError(ctx, err)
		return 0
	}
	d := getDecoded()
	body, held, err := s.readBodyInto(ctx, d.body, s.opts.MaxBodyBytes, "--max-body-bytes", costFactor)
	defer s.budget.Release(held)
	if err != nil {
		putDecoded(d)
		replyError(ctx, err)
		return 0
	}
	d.body = body
	// BYTES elements cost far more than their bytes once decoded: charged
	// once their count is known, before any is decoded.
	var strs int64
	defer func() { s.budget.Release(strs) }()
	check := func(in []backends.Tensor) error {
		if err := v.Sig.CheckShapes(model, in); err != nil {
			return err
		}
		var err error
		strs, err = transport.ChargeStrings(s.budget, in, len(body), held)
		return err
	}
	if err := d.decode(body, headerLen, check); err != nil {
		putDecoded(d)
		replyError(ctx, err)
		return 0
	}
	d.req.Model, d.req.Version = model, version
	// One context for the request's deadline and its hangup watch, with
	// no timer (waits.go): the runtime then adds none of its own. The
	// timeout counts from here, once the body is read; one clock read
	// serves it and the hangup watch.
	now := time.Now()
	d.ctx.reset(tctx, now.Add(v.RequestTimeout(&d.req)))
	s.waits.watch(&d.wait, ctx.Conn(), &d.ctx, now)
	resp, err := s.models.Infer(&d.ctx, &d.req)
	s.waits.done(&d.wait)
	if err != nil {
		// Not given back: a request that timed out may still be in a
		// batch that reads its tensors.
		replyError(ctx, err)
		return 0
	}
	if err := d.jsonCanCarry(resp); err != nil {
		resp.Recycle()
		putDecoded(d)
		replyError(ctx, err)
		return 0
	}
	if outputBytes(resp) > streamAbove {
		a, jsonLen := newAnswerStream(resp, d.binary) // recycles resp once written
		a.conn, a.timeout = ctx.Conn(), s.opts.WriteTimeout
		putDecoded(d)
		setAnswerHeaders(ctx, jsonLen)
		ctx.Response.SetBodyStream(a, int(a.size))
		return resp.Version
	}
	out, jsonLen := encodeResponse(ctx.Response.Body()[:0], resp, d)
	resp.Recycle() // copied into the body: later batches may have the buffers
	putDecoded(d)  // answered: nothing refers to the request any more
	setAnswerHeaders(ctx, jsonLen)
	ctx.SetBody(out)
	return resp.Version
}

// setAnswerHeaders sets an answer's content type, and the JSON's length
// when outputs follow it as binary data (jsonLen >= 0).
func setAnswerHeaders(ctx *fasthttp.RequestCtx, jsonLen int) {
	if jsonLen >= 0 {
		var n [20]byte
		ctx.Response.Header.SetBytesV(headerLenKey, strconv.AppendInt(n[:0], int64(jsonLen), 10))
		ctx.SetContentType("application/octet-stream")
	} else {
		ctx.SetContentType("application/json")
	}
}
