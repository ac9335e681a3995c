package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/modelgen"
)

// roundTripValues are edge values of each datatype ONNX Runtime serves, as
// little-endian bytes: the extremes, zero, and for the floats a fraction,
// a subnormal and a negative zero. FP16 travels as JSON numbers too.
func roundTripValues(dt backends.DataType) backends.Tensor {
	t := backends.Tensor{Name: "x", DataType: dt}
	le := binary.LittleEndian
	switch dt {
	case backends.Bool:
		t.Data = []byte{1, 0, 1, 1}
	case backends.Uint8:
		t.Data = []byte{0, 1, 128, 255}
	case backends.Int8:
		t.Data = []byte{0, 1, 0x80, 0x7f}
	case backends.Uint16, backends.Int16:
		for _, v := range []uint16{0, 1, 0x8000, 0xffff} {
			t.Data = le.AppendUint16(t.Data, v)
		}
	case backends.FP16: // 0, 1.5, -65504 (the lowest), 2^-24 (the least subnormal)
		for _, v := range []uint16{0x8000, 0x3e00, 0xfbff, 0x0001} {
			t.Data = le.AppendUint16(t.Data, v)
		}
	case backends.Uint32, backends.Int32:
		for _, v := range []uint32{0, 1, 0x80000000, 0xffffffff} {
			t.Data = le.AppendUint32(t.Data, v)
		}
	case backends.FP32:
		for _, v := range []float32{0.1, -math.MaxFloat32, math.SmallestNonzeroFloat32, float32(math.Copysign(0, -1))} {
			t.Data = le.AppendUint32(t.Data, math.Float32bits(v))
		}
	case backends.Uint64, backends.Int64:
		for _, v := range []uint64{0, 1, 1 << 63, math.MaxUint64} {
			t.Data = le.AppendUint64(t.Data, v)
		}
	case backends.FP64:
		for _, v := range []float64{0.1, -math.MaxFloat64, math.SmallestNonzeroFloat64, 1.0 / 3} {
			t.Data = le.AppendUint64(t.Data, math.Float64bits(v))
		}
	case backends.Bytes:
		t.Strings = [][]byte{[]byte("tiffin"), {}, []byte("ünïcödé ✓"), []byte(`"quoted" \ back`)}
	}
	return t
}

// ortDatatypes are the V2 datatypes the onnxruntime backend serves.
var ortDatatypes = []backends.DataType{
	backends.Bool, backends.Uint8, backends.Uint16, backends.Uint32, backends.Uint64,
	backends.Int8, backends.Int16, backends.Int32, backends.Int64,
	backends.FP16, backends.FP32, backends.FP64, backends.Bytes,
}

// TestE2EDatatypeRoundTrip sends every datatype the onnxruntime backend
// serves through an Identity model over JSON, binary and gRPC, as a batch
// of shape [1, 4], as a fixed [2, 2] and as a scalar, and wants the very
// same elements back, bit for bit.
func TestE2EDatatypeRoundTrip(t *testing.T) {
	repo := t.TempDir()
	type shaped struct {
		suffix  string
		batched bool
		dims    []int64 // the model's
		shape   []int64 // the request's
	}
	shapes := []shaped{{"batch", true, []int64{4}, []int64{1, 4}}, {"fixed", false, []int64{2, 2}, []int64{2, 2}}, {"scalar", false, nil, []int64{}}}
	for _, dt := range ortDatatypes {
		for _, s := range shapes {
			model, err := modelgen.Identity(dt, s.batched, s.dims...)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(repo, identityName(dt, s.suffix), "1", "model.onnx"), model)
		}
	}
	gs := startGRPC(t, repo, nil)
	for _, dt := range ortDatatypes {
		for _, s := range shapes {
			name := identityName(dt, s.suffix)
			x := roundTripValues(dt)
			x.Shape = s.shape
			if len(s.shape) == 0 { // a scalar: the first element
				x.Data, x.Strings = x.Data[:dt.Size()], x.Strings[:min(1, len(x.Strings))]
			}
			for _, w := range wires {
				got, err := inferWire(gs, name, w, []backends.Tensor{x})
				if err != nil {
					t.Errorf("%s over %s: %v", name, w.name, err)
					continue
				}
				if err := sameTensor(got, x); err != nil {
					t.Errorf("%s over %s: %v", name, w.name, err)
				}
			}
		}
	}
}

func identityName(dt backends.DataType, suffix string) string {
	return "identity-" + strings.ToLower(dt.String()) + "-" + suffix
}

// sameTensor wants one output "y" equal to x in datatype, shape and bits.
func sameTensor(got []backends.Tensor, x backends.Tensor) error {
	if len(got) != 1 || got[0].Name != "y" {
		return fmt.Errorf("outputs %v, want one named y", got)
	}
	y := got[0]
	switch {
	case y.DataType != x.DataType:
		return fmt.Errorf("datatype %s, want %s", y.DataType, x.DataType)
	case !slices.Equal(y.Shape, x.Shape) || (y.Shape == nil) != (x.Shape == nil):
		return fmt.Errorf("shape %v, want %v", y.Shape, x.Shape)
	case x.DataType == backends.Bytes && !slices.EqualFunc(y.Strings, x.Strings, func(a, b []byte) bool { return string(a) == string(b) }):
		return fmt.Errorf("elements %q, want %q", y.Strings, x.Strings)
	case x.DataType != backends.Bytes && string(y.Data) != string(x.Data):
		return fmt.Errorf("bytes %v, want %v", y.Data, x.Data)
	}
	return nil
}
