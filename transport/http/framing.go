package http

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"github.com/tiffin-ml/tiffin/runtime"
)

// errTwoFramings refuses a request that says how long its body is twice:
// fasthttp reads a chunked body and ignores the Content-Length beside it,
// and had kept the connection open for the next request. A proxy in front
// that goes by the Content-Length reads the same bytes as other requests
// (request smuggling), so RFC 9112 (6.1) has the server close the
// connection after such a request; tiffin refuses it as well.
var errTwoFramings = runtime.Errorf(runtime.KindInvalidArgument,
	"the request has both Transfer-Encoding and Content-Length; send one of them")

// twoFramings reports whether a chunked request also carried a
// Content-Length header, which fasthttp drops once it has parsed the
// headers: the raw headers still have it.
func twoFramings(h *fasthttp.RequestHeader) bool {
	if h.ContentLength() != -1 {
		return false
	}
	raw := h.RawHeaders()
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		name, _, ok := bytes.Cut(line, []byte{':'})
		if ok && bytes.EqualFold(bytes.TrimSpace(name), []byte(fasthttp.HeaderContentLength)) {
			return true
		}
	}
	return false
}
