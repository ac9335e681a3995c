package http

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/tiffin-ml/tiffin/runtime"
)

// Compressed request bodies. Triton's HTTP clients compress a request on
// request (tritonclient's request_compression_algorithm, "gzip" or
// "deflate", the whole body after the binary extension has laid it out),
// and say so in Content-Encoding. The limits hold on both sides: the bytes
// on the wire, and the bytes they inflate to, so a small body cannot make
// the server hold more than a plain one could. Responses are never
// compressed: Accept-Encoding is only a preference (RFC 9110, 12.5.3), and
// compressing float tensors costs more CPU than it saves bytes.

// bodyEncoding is a request body's Content-Encoding.
type bodyEncoding uint8

const (
	encIdentity bodyEncoding = iota
	encGzip
	encDeflate
)

func (e bodyEncoding) String() string {
	switch e {
	case encGzip:
		return "gzip"
	case encDeflate:
		return "deflate"
	}
	return "identity"
}

// contentEncoding reads the request's Content-Encoding: none, identity,
// gzip (or its old name x-gzip) or deflate, in any case. Anything else,
// several codings among them, is refused, naming what is taken.
func contentEncoding(ctx *fasthttp.RequestCtx) (bodyEncoding, error) {
	h := bytes.TrimSpace(ctx.Request.Header.Peek(fasthttp.HeaderContentEncoding))
	switch {
	case len(h) == 0, bytes.EqualFold(h, []byte("identity")):
		return encIdentity, nil
	case bytes.EqualFold(h, []byte("gzip")), bytes.EqualFold(h, []byte("x-gzip")):
		return encGzip, nil
	case bytes.EqualFold(h, []byte("deflate")):
		return encDeflate, nil
	}
	return encIdentity, invalid("Content-Encoding %q is not supported: send the body as it is, or compressed with gzip or deflate", h)
}

// readEncodedBody reads a compressed body whole, its wire bytes within
// limit and charged once, then inflates it into a body of its own within
// limit, charged factor times over as a plain body is; the wire bytes'
// charge is given back once it is inflated.
func (s *Server) readEncodedBody(ctx *fasthttp.RequestCtx, enc bodyEncoding, limit int, what string, factor int64) ([]byte, int64, error) {
	wire, wireHeld, err := s.readPlainBody(ctx, nil, limit, what, 1)
	if err != nil {
		return nil, 0, err
	}
	defer s.budget.Release(wireHeld)
	in, err := getInflater(enc, bytes.NewReader(wire))
	if err != nil {
		return nil, 0, err
	}
	defer in.put()
	return s.readChunked(ctx, in, limit, what+", once decompressed", factor)
}

// inflater reads a compressed body as the bytes it stands for. It is kept
// for reuse with its decompressors (each holds a 32 KiB window), which read
// through its own buffered reader, so that one given back holds nothing of
// the body it read. Its errors name the encoding, as the client chose it.
type inflater struct {
	enc bodyEncoding
	src source        // the compressed bytes
	buf *bufio.Reader // over src; the decompressors read it
	gz  *gzip.Reader
	zl  io.ReadCloser // zlib's reader
	fl  io.ReadCloser // flate's reader, for a raw stream
	r   io.Reader     // what Read reads: gz, zl or fl
}

var inflaters sync.Pool

// getInflater reads src as enc; a gzip header is read at once. Give it back
// with put once its reads are over.
func getInflater(enc bodyEncoding, src io.Reader) (*inflater, error) {
	in, _ := inflaters.Get().(*inflater)
	if in == nil {
		in = &inflater{buf: bufio.NewReaderSize(nil, 16<<10)}
	}
	in.enc, in.src = enc, source{r: src}
	in.buf.Reset(&in.src)
	if err := in.start(); err != nil {
		in.put()
		return nil, err
	}
	return in, nil
}

func (in *inflater) start() error {
	if in.enc == encGzip {
		if in.gz == nil {
			gz, err := gzip.NewReader(in.buf)
			if err != nil {
				return in.fail(err)
			}
			in.gz = gz
		} else if err := in.gz.Reset(in.buf); err != nil {
			return in.fail(err)
		}
		in.r = in.gz
		return nil
	}
	// "deflate" is zlib's format (RFC 9110, 8.4.1.2), which tritonclient
	// sends; some clients send the raw stream, which has no header to
	// check, so a body whose first two bytes are not a zlib header is
	// read as raw.
	head, _ := in.buf.Peek(2)
	if len(head) == 2 && head[0]&0x0f == 8 && (uint16(head[0])<<8|uint16(head[1]))%31 == 0 {
		if in.zl == nil {
			zl, err := zlib.NewReader(in.buf)
			if err != nil {
				return in.fail(err)
			}
			in.zl = zl
		} else if err := in.zl.(zlib.Resetter).Reset(in.buf, nil); err != nil {
			return in.fail(err)
		}
		in.r = in.zl
		return nil
	}
	if in.fl == nil {
		in.fl = flate.NewReader(in.buf)
	} else if err := in.fl.(flate.Resetter).Reset(in.buf, nil); err != nil {
		return in.fail(err)
	}
	in.r = in.fl
	return nil
}

func (in *inflater) Read(p []byte) (int, error) {
	n, err := in.r.Read(p)
	if err != nil && err != io.EOF {
		err = in.fail(err)
	}
	return n, err
}

// fail names a decompression error for the client; an error of the source
// (a cut connection, a limit) is its own.
func (in *inflater) fail(err error) error {
	if in.src.err != nil {
		return in.src.err
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF // an empty body has no gzip header
	}
	return runtime.Errorf(runtime.KindInvalidArgument, "the body is not valid %s data (Content-Encoding: %s): %v", in.enc, in.enc, err)
}

// put gives in back, holding nothing of its source.
func (in *inflater) put() {
	in.src = source{}
	in.buf.Reset(nil)
	in.r = nil
	inflaters.Put(in)
}

// source is an inflater's source, keeping its first error other than
// io.EOF.
type source struct {
	r   io.Reader
	err error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}
