package gorgonia

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

// constTensor is a tensor known when the graph is built: an initializer, the
// value of a Constant node, an integer or empty model input, a value folded
// from those, or a weight rearranged at build time. Floating point tensors
// (FLOAT, and DOUBLE narrowed to float32) fill f32; integer tensors (INT64,
// INT32, BOOL), which serve as shapes, axes, indices, positions and flags,
// fill i64.
// Its data is never modified after it is made: graphs of one instance share
// it.
type constTensor struct {
	shape []int
	f32   []float32 // when !isInt
	i64   []int64   // when isInt
	isInt bool
	// fixed is set on a tensor that holds the same values in every graph of
	// the program: an initializer, a Constant's value, anything folded from
	// fixed tensors only, and what derived caches. Only those may feed a
	// computation that derived caches for the program; a tensor that
	// depends on the input shapes (Shape) or values (an integer input)
	// does not. It only ever goes from false to true, while building
	// (under buildMu).
	fixed bool
}

func (c *constTensor) size() int { return numElems(c.shape) }

// emptyConst is a constant with no elements (a 0 axis in shape).
func emptyConst(shape []int, isInt bool) *constTensor {
	if isInt {
		return &constTensor{shape: shape, isInt: true, i64: []int64{}}
	}
	return &constTensor{shape: shape, f32: []float32{}}
}

// isIntOr is c.isInt, or def for a nil c (a value that is not a constant).
func (c *constTensor) isIntOr(def bool) bool {
	if c == nil {
		return def
	}
	return c.isInt
}

// numElems is the product of shape; 1 for a scalar.
func numElems(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// decodeTensor decodes an initializer or a Constant's value. Data may be in
// raw_data (little-endian) or in the typed repeated field.
func decodeTensor(t *onnxpb.TensorProto) (*constTensor, error) {
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL || len(t.GetExternalData()) > 0 {
		return nil, fmt.Errorf("tensor %q: external data is not supported by the gorgonia backend", t.GetName())
	}
	if t.GetSegment() != nil {
		return nil, fmt.Errorf("tensor %q: segmented tensors are not supported by the gorgonia backend", t.GetName())
	}
	c := &constTensor{shape: make([]int, len(t.GetDims()))}
	for i, d := range t.GetDims() {
		if d < 0 || d > math.MaxInt32 {
			return nil, fmt.Errorf("tensor %q: invalid dimension %d", t.GetName(), d)
		}
		c.shape[i] = int(d)
	}
	n := c.size()
	raw := t.GetRawData()
	var err error
	switch dt := onnxpb.TensorProto_DataType(t.GetDataType()); dt {
	case onnxpb.TensorProto_FLOAT:
		c.f32, err = decodeF32(raw, t.GetFloatData(), n)
	case onnxpb.TensorProto_DOUBLE:
		c.f32, err = decodeF64(raw, t.GetDoubleData(), n)
	case onnxpb.TensorProto_INT64:
		c.isInt = true
		c.i64, err = decodeI64(raw, t.GetInt64Data(), n)
	case onnxpb.TensorProto_INT32:
		c.isInt = true
		c.i64, err = decodeI32(raw, t.GetInt32Data(), n)
	case onnxpb.TensorProto_BOOL: // flags such as Dropout's training_mode
		c.isInt = true
		c.i64, err = decodeBool(raw, t.GetInt32Data(), n)
	default:
		return nil, fmt.Errorf("tensor %q: element type %s is not supported by the gorgonia backend (FLOAT, DOUBLE, INT64, INT32 and BOOL are)",
			t.GetName(), strings.ToLower(dt.String()))
	}
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.GetName(), err)
	}
	return c, nil
}

func checkCount(got, want int) error {
	if got != want {
		return fmt.Errorf("holds %d elements, its dims need %d", got, want)
	}
	return nil
}

func decodeF32(raw []byte, typed []float32, n int) ([]float32, error) {
	if len(raw) == 0 {
		return append([]float32(nil), typed...), checkCount(len(typed), n)
	}
	if err := checkCount(len(raw)/4, n); err != nil || len(raw)%4 != 0 {
		return nil, fmt.Errorf("raw_data of %d bytes for %d FLOAT elements", len(raw), n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}

func decodeF64(raw []byte, typed []float64, n int) ([]float32, error) {
	if len(raw) == 0 {
		out := make([]float32, len(typed))
		for i, v := range typed {
			out[i] = float32(v)
		}
		return out, checkCount(len(typed), n)
	}
	if err := checkCount(len(raw)/8, n); err != nil || len(raw)%8 != 0 {
		return nil, fmt.Errorf("raw_data of %d bytes for %d DOUBLE elements", len(raw), n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
	}
	return out, nil
}

func decodeI64(raw []byte, typed []int64, n int) ([]int64, error) {
	if len(raw) == 0 {
		return append([]int64(nil), typed...), checkCount(len(typed), n)
	}
	if err := checkCount(len(raw)/8, n); err != nil || len(raw)%8 != 0 {
		return nil, fmt.Errorf("raw_data of %d bytes for %d INT64 elements", len(raw), n)
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	return out, nil
}

func decodeI32(raw []byte, typed []int32, n int) ([]int64, error) {
	if len(raw) == 0 {
		out := make([]int64, len(typed))
		for i, v := range typed {
			out[i] = int64(v)
		}
		return out, checkCount(len(typed), n)
	}
	if err := checkCount(len(raw)/4, n); err != nil || len(raw)%4 != 0 {
		return nil, fmt.Errorf("raw_data of %d bytes for %d INT32 elements", len(raw), n)
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
	}
	return out, nil
}

// decodeBool reads BOOL elements: one byte each in raw_data, or int32_data.
func decodeBool(raw []byte, typed []int32, n int) ([]int64, error) {
	if len(raw) == 0 {
		return decodeI32(nil, typed, n)
	}
	if err := checkCount(len(raw), n); err != nil {
		return nil, fmt.Errorf("raw_data of %d bytes for %d BOOL elements", len(raw), n)
	}
	out := make([]int64, n)
	for i, b := range raw {
		out[i] = int64(b)
	}
	return out, nil
}

// floats returns c's float data, or an error naming what for when c holds
// integers.
func (c *constTensor) floats(what string) ([]float32, error) {
	if c.isInt {
		return nil, fmt.Errorf("%s: expected a floating-point tensor, got an integer one", what)
	}
	return c.f32, nil
}

// ints returns c's integer data, or an error naming what for when c holds
// floats.
func (c *constTensor) ints(what string) ([]int64, error) {
	if !c.isInt {
		return nil, fmt.Errorf("%s: expected an integer tensor, got a floating-point one", what)
	}
	return c.i64, nil
}
