package gorgonia

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

func TestDecodeTensor(t *testing.T) {
	f64raw := make([]byte, 0, 16)
	for _, v := range []float64{1.5, -2} {
		f64raw = binary.LittleEndian.AppendUint64(f64raw, math.Float64bits(v))
	}
	tensor := func(dt onnxpb.TensorProto_DataType, dims ...int64) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{Name: "t", DataType: int32(dt), Dims: dims}
	}
	withRaw := func(p *onnxpb.TensorProto, raw []byte) *onnxpb.TensorProto { p.RawData = raw; return p }
	for _, c := range []struct {
		name string
		in   *onnxpb.TensorProto
		f32  []float32
		i64  []int64
	}{
		{"float-raw", withRaw(tensor(onnxpb.TensorProto_FLOAT, 2), f32Bytes([]float32{1, -3})), []float32{1, -3}, nil},
		{"float-data", &onnxpb.TensorProto{DataType: 1, Dims: []int64{2}, FloatData: []float32{4, 5}}, []float32{4, 5}, nil},
		{"double-raw", withRaw(tensor(onnxpb.TensorProto_DOUBLE, 2), f64raw), []float32{1.5, -2}, nil},
		{"double-data", &onnxpb.TensorProto{DataType: 11, DoubleData: []float64{0.25}}, []float32{0.25}, nil},
		{"int64-raw", withRaw(tensor(onnxpb.TensorProto_INT64, 1), binary.LittleEndian.AppendUint64(nil, uint64(1<<40))), nil, []int64{1 << 40}},
		{"int32-data", &onnxpb.TensorProto{DataType: 6, Dims: []int64{2}, Int32Data: []int32{-1, 7}}, nil, []int64{-1, 7}},
		{"bool-raw", withRaw(tensor(onnxpb.TensorProto_BOOL, 2), []byte{1, 0}), nil, []int64{1, 0}},
	} {
		got, err := decodeTensor(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !slices.Equal(got.f32, c.f32) || !slices.Equal(got.i64, c.i64) || got.isInt != (c.i64 != nil) {
			t.Errorf("%s: got %+v", c.name, got)
		}
	}
	for _, c := range []struct {
		name string
		in   *onnxpb.TensorProto
		want string
	}{
		{"short-raw", withRaw(tensor(onnxpb.TensorProto_FLOAT, 3), make([]byte, 8)), "raw_data of 8 bytes for 3 FLOAT elements"},
		{"count", &onnxpb.TensorProto{Name: "t", DataType: 1, Dims: []int64{3}, FloatData: []float32{1}}, "holds 1 elements, its dims need 3"},
		{"float16", withRaw(tensor(onnxpb.TensorProto_FLOAT16, 1), make([]byte, 2)), "element type float16 is not supported"},
		{"external", &onnxpb.TensorProto{Name: "t", DataType: 1, DataLocation: onnxpb.TensorProto_EXTERNAL}, "external data"},
	} {
		if _, err := decodeTensor(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

func TestDropoutTrainingMode(t *testing.T) {
	graph := func(flag byte) *testGraph {
		g := newTestGraph().input("x", -1, 2).output("y", -1, 2).node("Dropout", []string{"x", "", "training"}, []string{"y"})
		g.g.Initializer = []*onnxpb.TensorProto{{Name: "training", DataType: int32(onnxpb.TensorProto_BOOL), RawData: []byte{flag}}}
		return g
	}
	opCase{"dropout-inference", graph(0), []backends.Tensor{fp32("x", []int64{1, 2}, 1, 2)}, []int64{1, 2}, []float32{1, 2}}.check(t)
	mustFail(t, "m", graph(1).bytes(t), "Dropout: training_mode is true")
}
