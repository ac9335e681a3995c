package jobs

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"net"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/tensorjson"
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

// appendRowResults writes the result lines of n rows numbered from first:
// row first+i has item i of each output (or all of them, when not batched).
func appendRowResults(dst []byte, first int64, outs []backends.Tensor, n int, batched bool) []byte {
	for i := range n {
		dst = appendRowResult(dst, first+int64(i), outs, int64(i), batched)
	}
	return dst
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
	if len(shape) == 1 && t.DataType == backends.FP32 { // the usual innermost axis, without a type switch per element
		raw := t.Data[at*4 : (at+shape[0])*4]
		dst = append(dst, '[')
		for j := 0; j < len(raw); j += 4 {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = tensorjson.AppendFloat32(dst, math.Float32frombits(binary.LittleEndian.Uint32(raw[j:])))
		}
		return append(dst, ']')
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
	return tensorjson.AppendValue(dst, t.DataType, t.Data[i*size:(i+1)*size])
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

// chunkResult is a scored chunk: its result records (results.go), every
// row's in row order, in segments.
type chunkResult struct {
	segs     []*segment
	failed   int64
	firstErr string
	// leftBehind: a request that failed may still be in the runtime, so
	// the chunk's input must not be reused (chunkRun.infer).
	leftBehind bool
}

// segment is the result records of consecutive rows: a batch's, or rows
// that failed to decode.
type segment struct {
	buf       []byte
	failed    int64
	firstErr  string
	undecoded bool
}

var segmentPool sync.Pool // of *segment

func newSegment() *segment {
	if seg, ok := segmentPool.Get().(*segment); ok {
		return seg
	}
	return &segment{}
}

func (s *segment) fail(row int64, msg string) {
	s.buf = appendErrorRecord(s.buf, row, msg)
	s.failed++
	if s.firstErr == "" {
		s.firstErr = msg
	}
}

// reader reads the result records; it leaves r as it is.
func (r *chunkResult) reader() io.Reader {
	bufs := make(net.Buffers, len(r.segs))
	for i, seg := range r.segs {
		bufs[i] = seg.buf
	}
	return &bufs
}

// release hands the segments back for reuse by later chunks.
func (r *chunkResult) release() {
	for _, seg := range r.segs {
		*seg = segment{buf: seg.buf[:0]}
		segmentPool.Put(seg)
	}
	r.segs = nil
}
