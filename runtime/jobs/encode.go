package jobs

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/tiffin-ml/tiffin/backends"
)

// appendRowResult writes a result line, {"row":N,"outputs":{...}}, with
// item i of each output: nested arrays shaped like the output without its
// batch axis, or a scalar. batched says whether the outputs have one.
func appendRowResult(dst []byte, row int64, outs []backends.Tensor, i int64, batched bool) []byte {
	dst = append(dst, `{"row":`...)
	dst = strconv.AppendInt(dst, row, 10)
	dst = append(dst, `,"outputs":{`...)
	if !batched {
		i = 0 // the whole output is the row's
	}
	for k := range outs {
		o := &outs[k]
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, o.Name)
		dst = append(dst, ':')
		shape := o.Shape
		if batched {
			shape = shape[1:]
		}
		per := backends.NumElements(shape)
		dst = appendNested(dst, o, shape, i*per)
	}
	return append(dst, "}}\n"...)
}

// appendRowError writes {"row":N,"error":"..."}.
func appendRowError(dst []byte, row int64, msg string) []byte {
	dst = append(dst, `{"row":`...)
	dst = strconv.AppendInt(dst, row, 10)
	dst = append(dst, `,"error":`...)
	dst = appendJSONString(dst, msg)
	return append(dst, "}\n"...)
}

// appendNested writes the elements of t from index at, shaped as shape.
func appendNested(dst []byte, t *backends.Tensor, shape []int64, at int64) []byte {
	if len(shape) == 0 {
		return appendElementJSON(dst, t, at)
	}
	inner := backends.NumElements(shape[1:])
	dst = append(dst, '[')
	for j := range shape[0] {
		if j > 0 {
			dst = append(dst, ',')
		}
		dst = appendNested(dst, t, shape[1:], at+j*inner)
	}
	return append(dst, ']')
}

func appendElementJSON(dst []byte, t *backends.Tensor, i int64) []byte {
	if t.DataType == backends.Bytes {
		return appendJSONString(dst, string(t.Strings[i]))
	}
	size := int64(t.DataType.Size())
	return appendValue(dst, t.DataType, t.Data[i*size:(i+1)*size])
}

// appendJSONString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	if utf8.ValidString(s) && !needsEscape(s) {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	b, _ := json.Marshal(s)
	return append(dst, b...)
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return true
		}
	}
	return false
}
