package backends

import (
	"fmt"
	"log/slog"
)

// TensorSpec describes one model input or output. A -1 in Shape is a dynamic
// axis; for a batching model the first axis is the batch axis.
type TensorSpec struct {
	Name     string
	DataType DataType
	Shape    []int64
}

// LogValue renders the spec as "name FP32[-1,16]" in logs.
func (s TensorSpec) LogValue() slog.Value {
	return slog.StringValue(s.String())
}

func (s TensorSpec) String() string {
	return fmt.Sprintf("%s %s%v", s.Name, s.DataType, s.Shape)
}

// Metadata is what a loaded model says of its inputs and outputs.
type Metadata struct {
	Inputs  []TensorSpec
	Outputs []TensorSpec
}

// Tensor is a dense tensor. Fixed-width elements are stored in Data as their
// little-endian bytes, row-major; BYTES elements are stored in Strings, one
// entry per element. Exactly one of the two is used, chosen by DataType.
type Tensor struct {
	Name     string
	DataType DataType
	Shape    []int64
	Data     []byte
	Strings  [][]byte
}

// MaxElements is the most elements a tensor may have: at the widest
// element's 8 bytes, its byte size still fits an int64, so no caller's
// n × size can wrap around to a small number.
const MaxElements = 1 << 59

// NumElements is the product of the shape; 1 for a scalar. It returns -1 when
// an axis is negative or the product is over MaxElements.
func NumElements(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return -1
		}
		if d != 0 && n > MaxElements/d {
			return -1
		}
		n *= d
	}
	return n
}

// ShapeProblem says why NumElements refuses shape: "" when it does not.
func ShapeProblem(shape []int64) string {
	for i, d := range shape {
		if d < 0 {
			return fmt.Sprintf("axis %d is negative", i)
		}
	}
	if NumElements(shape) < 0 {
		return "it holds more than 2^59 elements"
	}
	return ""
}

// NumElements is the product of the tensor's shape.
func (t *Tensor) NumElements() int64 { return NumElements(t.Shape) }

// Check reports whether the tensor's storage agrees with its shape and
// datatype: the byte length for fixed-width types, the element count for BYTES.
func (t *Tensor) Check() error {
	if !t.DataType.Valid() {
		return fmt.Errorf("tensor %q: invalid datatype", t.Name)
	}
	n := t.NumElements()
	if n < 0 {
		return fmt.Errorf("tensor %q: invalid shape %v", t.Name, t.Shape)
	}
	if t.DataType == Bytes {
		if int64(len(t.Strings)) != n {
			return fmt.Errorf("tensor %q: shape %v holds %d elements, got %d", t.Name, t.Shape, n, len(t.Strings))
		}
		return nil
	}
	if want := n * int64(t.DataType.Size()); int64(len(t.Data)) != want {
		return fmt.Errorf("tensor %q: shape %v of %s needs %d bytes, got %d", t.Name, t.Shape, t.DataType, want, len(t.Data))
	}
	return nil
}

// ShapeFits reports whether shape has the rank of want and matches each of
// its fixed sizes (want's -1 takes any size).
func ShapeFits(shape, want []int64) bool {
	if len(shape) != len(want) {
		return false
	}
	for i, d := range want {
		if d >= 0 && shape[i] != d {
			return false
		}
	}
	return true
}
