package onnxtestdata

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/tiffin-ml/tiffin/backends"
)

// Close reports whether got matches want as numpy.testing.assert_allclose
// (with ONNX's runner around it) decides: the same datatype and shape, and
// every element within atol + rtol*|want|, NaN matching NaN and an infinity
// only itself. BYTES must be equal. The error names the tensor, the first
// element that differs, and how many do.
func Close(got, want backends.Tensor, rtol, atol float64) error {
	if got.DataType != want.DataType {
		return fmt.Errorf("output %q: datatype %s, want %s", want.Name, got.DataType, want.DataType)
	}
	if !slices.Equal(got.Shape, want.Shape) {
		return fmt.Errorf("output %q: shape %v, want %v", want.Name, got.Shape, want.Shape)
	}
	if err := got.Check(); err != nil {
		return err
	}
	if want.DataType == backends.Bytes {
		for i := range want.Strings {
			if !bytes.Equal(got.Strings[i], want.Strings[i]) {
				return fmt.Errorf("output %q: element %d is %q, want %q", want.Name, i, got.Strings[i], want.Strings[i])
			}
		}
		return nil
	}
	g, w := Float64s(got), Float64s(want)
	bad, first := 0, -1
	for i := range w {
		if !closeTo(g[i], w[i], rtol, atol) {
			if first < 0 {
				first = i
			}
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("output %q: %d of %d elements differ beyond rtol %g, atol %g; first at %d: %g, want %g",
			want.Name, bad, len(w), rtol, atol, first, g[first], w[first])
	}
	return nil
}

func closeTo(x, y, rtol, atol float64) bool {
	switch {
	case math.IsNaN(x) || math.IsNaN(y):
		return math.IsNaN(x) && math.IsNaN(y)
	case math.IsInf(x, 0) || math.IsInf(y, 0):
		return x == y
	}
	return math.Abs(x-y) <= atol+rtol*math.Abs(y)
}

// Float64s widens a fixed-width tensor's elements to float64 (BOOL as 0 or
// 1; 64-bit integers beyond 2^53 round). It returns nil for BYTES.
func Float64s(t backends.Tensor) []float64 {
	size := t.DataType.Size()
	if size == 0 {
		return nil
	}
	out := make([]float64, len(t.Data)/size)
	le := binary.LittleEndian
	for i := range out {
		b := t.Data[i*size:]
		switch t.DataType {
		case backends.Bool, backends.Uint8:
			out[i] = float64(b[0])
		case backends.Int8:
			out[i] = float64(int8(b[0]))
		case backends.Uint16:
			out[i] = float64(le.Uint16(b))
		case backends.Int16:
			out[i] = float64(int16(le.Uint16(b)))
		case backends.Uint32:
			out[i] = float64(le.Uint32(b))
		case backends.Int32:
			out[i] = float64(int32(le.Uint32(b)))
		case backends.Uint64:
			out[i] = float64(le.Uint64(b))
		case backends.Int64:
			out[i] = float64(int64(le.Uint64(b)))
		case backends.FP16:
			out[i] = halfToFloat64(le.Uint16(b))
		case backends.BF16:
			out[i] = float64(math.Float32frombits(uint32(le.Uint16(b)) << 16))
		case backends.FP32:
			out[i] = float64(math.Float32frombits(le.Uint32(b)))
		case backends.FP64:
			out[i] = math.Float64frombits(le.Uint64(b))
		}
	}
	return out
}

// halfToFloat64 widens an IEEE 754 binary16 exactly.
func halfToFloat64(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, mant := int(h>>10&0x1f), float64(h&0x3ff)
	switch exp {
	case 0x1f:
		if mant != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	case 0:
		return sign * math.Ldexp(mant, -24)
	}
	return sign * math.Ldexp(1024+mant, exp-25)
}
