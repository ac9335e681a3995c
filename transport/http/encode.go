package http

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/tensorjson"
)

// encodeResponse writes a V2 response. Outputs asked for as binary go after
// the JSON, in output order; headerLen is then the JSON's length, for the
// Inference-Header-Content-Length header, and -1 when nothing is binary.
func encodeResponse(dst []byte, resp *runtime.InferResponse, d *decoded) (body []byte, headerLen int) {
	r := renderer{dst: dst}
	headerLen = r.response(resp, d.binary)
	return r.dst, headerLen
}

// A renderer appends an answer to dst. With spill set, it hands dst to
// spill whenever it holds answerPiece bytes and starts it again, so an
// answer of any size is rendered in a buffer of about that size
// (answer.go); without, dst keeps all of it.
type renderer struct {
	dst   []byte
	spill func([]byte) error // nil: dst keeps everything
	n     int64              // bytes handed to spill so far
	err   error              // spill's first failure; nothing is rendered after it
}

// answerPiece is about how much of a streamed answer is rendered before it
// is written.
const answerPiece = 64 << 10

// flush hands what dst holds to spill, if there is a spill.
func (r *renderer) flush() {
	if r.spill == nil || len(r.dst) == 0 {
		return
	}
	if r.err == nil {
		r.err = r.spill(r.dst)
	}
	r.n += int64(len(r.dst))
	r.dst = r.dst[:0]
}

// full reports whether dst should be flushed before more is appended.
func (r *renderer) full() bool { return r.spill != nil && len(r.dst) >= answerPiece }

// raw hands b to spill (in pieces, each written in its own time) or
// appends it to dst.
func (r *renderer) raw(b []byte) {
	if r.spill == nil {
		r.dst = append(r.dst, b...)
		return
	}
	r.flush()
	for len(b) > 0 && r.err == nil {
		n := min(len(b), 4*answerPiece)
		r.err = r.spill(b[:n])
		r.n += int64(n)
		b = b[n:]
	}
}

// response renders the whole answer; binary says which outputs go as
// binary data. It returns the JSON's length when an output is binary, else
// -1.
func (r *renderer) response(resp *runtime.InferResponse, binary func(string) bool) (headerLen int) {
	dst := r.dst
	dst = append(dst, `{"model_name":`...)
	dst = tensorjson.AppendString(dst, []byte(resp.Model))
	dst = append(dst, `,"model_version":"`...)
	dst = strconv.AppendInt(dst, resp.Version, 10)
	dst = append(dst, '"')
	if resp.ID != "" {
		dst = append(dst, `,"id":`...)
		dst = tensorjson.AppendString(dst, []byte(resp.ID))
	}
	dst = append(dst, `,"outputs":[`...)
	r.dst = dst
	anyBinary := false
	for i := range resp.Outputs {
		o := &resp.Outputs[i]
		dst := r.dst
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"name":`...)
		dst = tensorjson.AppendString(dst, []byte(o.Name))
		dst = append(dst, `,"datatype":"`...)
		dst = append(dst, o.DataType.String()...)
		dst = append(dst, `","shape":[`...)
		for k, s := range o.Shape {
			if k > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, s, 10)
		}
		dst = append(dst, ']')
		if binary(o.Name) {
			anyBinary = true
			dst = append(dst, `,"parameters":{"binary_data_size":`...)
			dst = strconv.AppendInt(dst, int64(binarySize(o)), 10)
			r.dst = append(dst, "}}"...)
			continue
		}
		r.dst = append(dst, `,"data":`...)
		r.data(o)
		r.dst = append(r.dst, '}')
	}
	r.dst = append(r.dst, "]}"...)
	if !anyBinary {
		return -1
	}
	headerLen = int(r.n) + len(r.dst)
	for i := range resp.Outputs {
		o := &resp.Outputs[i]
		if binary(o.Name) {
			r.binary(o)
		}
	}
	r.flush()
	return headerLen
}

// data writes a tensor's elements as a flat JSON array.
func (r *renderer) data(t *backends.Tensor) {
	r.dst = append(r.dst, '[')
	if t.DataType == backends.Bytes {
		for i, s := range t.Strings {
			if r.full() {
				r.flush()
			}
			if i > 0 {
				r.dst = append(r.dst, ',')
			}
			r.dst = tensorjson.AppendString(r.dst, s)
		}
		r.dst = append(r.dst, ']')
		return
	}
	size := t.DataType.Size()
	for i := 0; i+size <= len(t.Data); i += size {
		if r.full() {
			r.flush()
		}
		if i > 0 {
			r.dst = append(r.dst, ',')
		}
		r.dst = tensorjson.AppendValue(r.dst, t.DataType, t.Data[i:i+size])
	}
	r.dst = append(r.dst, ']')
}

// binary writes a tensor's binary data: its bytes, or for BYTES each
// element's 4-byte little-endian length and bytes.
func (r *renderer) binary(t *backends.Tensor) {
	if t.DataType != backends.Bytes {
		r.raw(t.Data)
		return
	}
	for _, s := range t.Strings {
		if r.full() {
			r.flush()
		}
		r.dst = binary.LittleEndian.AppendUint32(r.dst, uint32(len(s)))
		if len(s) > answerPiece {
			r.raw(s)
			continue
		}
		r.dst = append(r.dst, s...)
	}
}

// jsonCanCarry refuses an answer whose BYTES outputs, asked for in JSON,
// hold an element that is not UTF-8: a JSON string cannot carry it, and
// replacing its bytes (U+FFFD) would answer other data than the model's.
func (d *decoded) jsonCanCarry(resp *runtime.InferResponse) error {
	for i := range resp.Outputs {
		o := &resp.Outputs[i]
		if o.DataType != backends.Bytes || d.binary(o.Name) {
			continue
		}
		for k, s := range o.Strings {
			if !utf8.Valid(s) {
				return runtime.Errorf(runtime.KindInvalidArgument,
					"output %q: element %d is not UTF-8, which a JSON answer cannot carry unchanged; ask for the output as binary data (\"parameters\": {\"binary_data\": true} on it)",
					o.Name, k)
			}
		}
	}
	return nil
}

// binary reports whether the output named so is answered as binary data:
// its own binary_data when it sets one, else binary_data_output.
func (d *decoded) binary(name string) bool {
	if b, ok := d.binaryOutput[name]; ok {
		return b
	}
	return d.binaryAll
}

func binarySize(t *backends.Tensor) int {
	if t.DataType != backends.Bytes {
		return len(t.Data)
	}
	n := 0
	for _, s := range t.Strings {
		n += 4 + len(s)
	}
	return n
}

// appendError writes {"error": msg}.
func appendError(dst []byte, msg string) []byte {
	dst = append(dst, `{"error":`...)
	dst = tensorjson.AppendString(dst, []byte(msg))
	return append(dst, '}')
}
