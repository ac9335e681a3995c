package onnxtestdata

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

func f32(name string, shape []int64, vals ...float32) backends.Tensor {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return backends.Tensor{Name: name, DataType: backends.FP32, Shape: shape, Data: b}
}

func TestClose(t *testing.T) {
	want := f32("y", []int64{3}, 1, 100, float32(math.NaN()))
	if err := Close(f32("y", []int64{3}, 1.0005, 100.09, float32(math.NaN())), want, DefaultRTol, DefaultATol); err != nil {
		t.Errorf("within tolerance: %v", err)
	}
	err := Close(f32("y", []int64{3}, 1.002, 100, float32(math.NaN())), want, DefaultRTol, DefaultATol)
	if err == nil || !strings.Contains(err.Error(), "1 of 3 elements differ") || !strings.Contains(err.Error(), "first at 0") {
		t.Errorf("beyond rtol: %v", err)
	}
	if err := Close(f32("y", []int64{3}, 1, 100, 0), want, DefaultRTol, DefaultATol); err == nil {
		t.Error("0 matched NaN")
	}
	if err := Close(f32("y", []int64{1, 3}, 1, 100, 0), want, DefaultRTol, DefaultATol); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Errorf("shape mismatch: %v", err)
	}
	s := backends.Tensor{Name: "s", DataType: backends.Bytes, Shape: []int64{1}, Strings: [][]byte{[]byte("a")}}
	if err := Close(s, backends.Tensor{Name: "s", DataType: backends.Bytes, Shape: []int64{1}, Strings: [][]byte{[]byte("b")}}, 0, 0); err == nil {
		t.Error("different strings matched")
	}
}

func TestHalf(t *testing.T) {
	for h, want := range map[uint16]float64{0x3c00: 1, 0xc000: -2, 0x0001: math.Ldexp(1, -24), 0x7bff: 65504, 0x3555: 0.333251953125} {
		if got := halfToFloat64(h); got != want {
			t.Errorf("half %#04x = %g, want %g", h, got, want)
		}
	}
	if !math.IsInf(halfToFloat64(0xfc00), -1) || !math.IsNaN(halfToFloat64(0x7e00)) {
		t.Error("half infinities or NaN")
	}
}

// TestToTensorTypedFields checks the typed-field layouts the ONNX spec gives
// each element type, against the little-endian bytes V2 expects.
func TestToTensorTypedFields(t *testing.T) {
	cases := []struct {
		tp   *onnxpb.TensorProto
		want []byte
	}{
		{&onnxpb.TensorProto{DataType: int32(onnxpb.TensorProto_FLOAT16), Dims: []int64{2}, Int32Data: []int32{0x3c00, 0xc000}}, []byte{0x00, 0x3c, 0x00, 0xc0}},
		{&onnxpb.TensorProto{DataType: int32(onnxpb.TensorProto_BOOL), Dims: []int64{2}, Int32Data: []int32{1, 0}}, []byte{1, 0}},
		{&onnxpb.TensorProto{DataType: int32(onnxpb.TensorProto_INT8), Dims: []int64{1}, Int32Data: []int32{-2}}, []byte{0xfe}},
		{&onnxpb.TensorProto{DataType: int32(onnxpb.TensorProto_UINT32), Dims: []int64{1}, Uint64Data: []uint64{7}}, []byte{7, 0, 0, 0}},
		{&onnxpb.TensorProto{DataType: int32(onnxpb.TensorProto_INT64), Dims: []int64{}, Int64Data: []int64{-1}}, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{&onnxpb.TensorProto{DataType: int32(onnxpb.TensorProto_DOUBLE), Dims: []int64{1}, RawData: []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}}, []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}},
	}
	for _, c := range cases {
		got, err := onnxpb.ToTensor(c.tp)
		if err != nil || string(got.Data) != string(c.want) {
			t.Errorf("%s: got %v, %v; want %v", onnxpb.TensorProto_DataType(c.tp.DataType), got.Data, err, c.want)
		}
	}
	bad := []*onnxpb.TensorProto{
		{DataType: int32(onnxpb.TensorProto_FLOAT), Dims: []int64{2}, FloatData: []float32{1}},
		{DataType: int32(onnxpb.TensorProto_FLOAT), Dims: []int64{1}, Int64Data: []int64{1}},
		{DataType: int32(onnxpb.TensorProto_COMPLEX64), Dims: []int64{1}, FloatData: []float32{1, 2}},
		{DataType: int32(onnxpb.TensorProto_FLOAT), Dims: []int64{1}, DataLocation: onnxpb.TensorProto_EXTERNAL},
	}
	for _, tp := range bad {
		if _, err := onnxpb.ToTensor(tp); err == nil {
			t.Errorf("accepted %v", tp)
		}
	}
}

func TestListAndLoadSynthetic(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "simple", "test_add")
	writeProto(t, filepath.Join(folder, "model.onnx"), &onnxpb.ModelProto{Graph: &onnxpb.GraphProto{
		Input:       []*onnxpb.ValueInfoProto{tensorValue("w"), tensorValue("x")},
		Initializer: []*onnxpb.TensorProto{{Name: "w", DataType: int32(onnxpb.TensorProto_FLOAT), Dims: []int64{1}, FloatData: []float32{1}}},
		Output:      []*onnxpb.ValueInfoProto{tensorValue("y")},
	}})
	writeProto(t, filepath.Join(folder, "test_data_set_0", "input_0.pb"), &onnxpb.TensorProto{Name: "other", DataType: int32(onnxpb.TensorProto_FLOAT), Dims: []int64{2}, FloatData: []float32{1, 2}})
	writeProto(t, filepath.Join(folder, "test_data_set_0", "output_0.pb"), &onnxpb.TensorProto{DataType: int32(onnxpb.TensorProto_FLOAT), Dims: []int64{2}, FloatData: []float32{2, 3}})
	if err := os.WriteFile(filepath.Join(folder, "data.json"), []byte(`{"rtol": 0.01}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases, err := List(dir, "simple")
	if err != nil || len(cases) != 1 {
		t.Fatalf("List: %v, %v", cases, err)
	}
	c := cases[0]
	if c.Name != "test_add" || c.RTol != 0.01 || c.ATol != DefaultATol {
		t.Errorf("case %+v", c)
	}
	in, out, err := c.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 1 || in[0].Name != "x" || len(out) != 1 || out[0].Name != "y" {
		t.Fatalf("inputs %v outputs %v: want x (the initializer w skipped) and y", in, out)
	}
	if err := Close(f32("y", []int64{2}, 2, 3), out[0], c.RTol, c.ATol); err != nil {
		t.Error(err)
	}
}

func tensorValue(name string) *onnxpb.ValueInfoProto {
	return &onnxpb.ValueInfoProto{Name: name, Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: int32(onnxpb.TensorProto_FLOAT), Shape: &onnxpb.TensorShapeProto{
			Dim: []*onnxpb.TensorShapeProto_Dimension{{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 2}}}}}}}}
}

func writeProto(t *testing.T, path string, m proto.Message) {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRealData loads every case of the installed wheel's data, when present.
func TestRealData(t *testing.T) {
	dir, err := Dir()
	if errors.Is(err, ErrNotFound) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	cases, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	loaded := 0
	for _, c := range cases {
		counts[c.Suite]++
		in, out, err := c.Load()
		if err != nil {
			t.Logf("%s/%s: %v", c.Suite, c.Name, err)
			continue
		}
		loaded++
		for _, x := range append(in, out...) {
			if err := x.Check(); err != nil {
				t.Errorf("%s: %v", c.Name, err)
			}
		}
	}
	t.Logf("%d cases (%v), %d loaded", len(cases), counts, loaded)
	if counts["light"] != 9 || counts["pytorch-converted"]+counts["pytorch-operator"]+counts["simple"] != 140 {
		t.Errorf("cases per suite %v: want 140 small graphs and 9 light models", counts)
	}
}
