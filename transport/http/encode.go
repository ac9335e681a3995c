package http

import (
	"strconv"
	"unicode/utf8"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/tensorjson"
	"github.com/tiffin-ml/tiffin/transport"
)

// encodeResponse writes a V2 response. Outputs asked for as binary go after
// the JSON, in output order; headerLen is then the JSON's length, for the
// Inference-Header-Content-Length header, and -1 when nothing is binary.
func encodeResponse(dst []byte, resp *runtime.InferResponse, d *decoded) (body []byte, headerLen int) {
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
	anyBinary := false
	for i := range resp.Outputs {
		o := &resp.Outputs[i]
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
		if d.binary(o.Name) {
			anyBinary = true
			dst = append(dst, `,"parameters":{"binary_data_size":`...)
			dst = strconv.AppendInt(dst, int64(binarySize(o)), 10)
			dst = append(dst, "}}"...)
			continue
		}
		dst = append(dst, `,"data":`...)
		dst = appendData(dst, o)
		dst = append(dst, '}')
	}
	dst = append(dst, "]}"...)
	if !anyBinary {
		return dst, -1
	}
	headerLen = len(dst)
	for i := range resp.Outputs {
		o := &resp.Outputs[i]
		if d.binary(o.Name) {
			dst = appendBinary(dst, o)
		}
	}
	return dst, headerLen
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

func appendBinary(dst []byte, t *backends.Tensor) []byte {
	if t.DataType != backends.Bytes {
		return append(dst, t.Data...)
	}
	return transport.AppendBytesElements(dst, t.Strings)
}

// appendError writes {"error": msg}.
func appendError(dst []byte, msg string) []byte {
	dst = append(dst, `{"error":`...)
	dst = tensorjson.AppendString(dst, []byte(msg))
	return append(dst, '}')
}
