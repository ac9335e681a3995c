//go:build cgo

package onnx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
)

// batchOf is an input for example_dynamic_axes.onnx (FP32[-1,10]): row r
// holds r*10 .. r*10+9.
func batchOf(n int) []backends.Tensor {
	vs := make([]float32, 10*n)
	for i := range vs {
		vs[i] = float32(i)
	}
	return []backends.Tensor{{Name: "input_vectors", DataType: backends.FP32, Shape: []int64{int64(n), 10}, Data: f32Bytes(vs...)}}
}

// checkSums checks example_dynamic_axes.onnx's output for batchOf(n): the
// row sums, 100r+45.
func checkSums(t *testing.T, out []backends.Tensor, n int) {
	t.Helper()
	if len(out) != 1 || out[0].Name != "output_scalars" || out[0].DataType != backends.FP32 ||
		!reflect.DeepEqual(out[0].Shape, []int64{int64(n)}) {
		t.Fatalf("batch %d: got %+v", n, out)
	}
	for r, s := range f32s(out[0].Data) {
		if want := float32(100*r + 45); s != want {
			t.Errorf("batch %d: row %d sums to %v, want %v", n, r, s, want)
		}
	}
}

func TestDynamicAxes(t *testing.T) {
	m := load(t, newTestBackend(t), testModel(t, "example_dynamic_axes.onnx"))
	want := backends.Metadata{
		Inputs:  []backends.TensorSpec{{Name: "input_vectors", DataType: backends.FP32, Shape: []int64{-1, 10}}},
		Outputs: []backends.TensorSpec{{Name: "output_scalars", DataType: backends.FP32, Shape: []int64{-1}}},
	}
	if got := m.Metadata(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Metadata() = %v, want %v", got, want)
	}
	for _, n := range []int{1, 7, 0} {
		out, err := m.Run(context.Background(), batchOf(n))
		if err != nil {
			t.Fatalf("batch %d: %v", n, err)
		}
		checkSums(t, out, n)
	}
}

func TestSeveralInputsAndOutputs(t *testing.T) {
	m := load(t, newTestBackend(t), testModel(t, "example_several_inputs_and_outputs.onnx"))
	want := backends.Metadata{
		Inputs: []backends.TensorSpec{
			{Name: "input 1", DataType: backends.Int32, Shape: []int64{2, 5, 2, 5}},
			{Name: "input 2", DataType: backends.FP32, Shape: []int64{2, 3, 20}},
			{Name: "input 3", DataType: backends.BF16, Shape: []int64{9}},
		},
		Outputs: []backends.TensorSpec{
			{Name: "output 1", DataType: backends.Int64, Shape: []int64{10, 10}},
			{Name: "output 2", DataType: backends.FP64, Shape: []int64{1, 2, 3, 4, 5}},
		},
	}
	if got := m.Metadata(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Metadata() = %v, want %v", got, want)
	}
	a := make([]byte, 0, 400)
	for i := range 100 {
		a = binary.LittleEndian.AppendUint32(a, uint32(i-50))
	}
	bs := make([]float32, 120)
	for i := range bs {
		bs[i] = float32(i) * 0.5
	}
	c := make([]byte, 0, 18)
	for i := range 9 {
		c = binary.LittleEndian.AppendUint16(c, uint16(math.Float32bits(float32(i+7))>>16)) // BF16
	}
	out, err := m.Run(context.Background(), []backends.Tensor{
		{DataType: backends.Int32, Shape: []int64{2, 5, 2, 5}, Data: a},
		{DataType: backends.FP32, Shape: []int64{2, 3, 20}, Data: f32Bytes(bs...)},
		{DataType: backends.BF16, Shape: []int64{9}, Data: c},
	})
	if err != nil {
		t.Fatal(err)
	}
	// output 1 is input 1 as INT64, reshaped to 10x10, with input 3's first
	// element (7) added to its first element.
	o1 := i64s(out[0].Data)
	if len(o1) != 100 || !reflect.DeepEqual(out[0].Shape, []int64{10, 10}) {
		t.Fatalf("output 1: %+v", out[0])
	}
	for i, v := range o1 {
		want := int64(i - 50)
		if i == 0 {
			want += 7
		}
		if v != want {
			t.Errorf("output 1[%d] = %d, want %d", i, v, want)
		}
	}
	// output 2 is input 2 as FP64, reshaped.
	o2 := f64s(out[1].Data)
	if len(o2) != 120 || !reflect.DeepEqual(out[1].Shape, []int64{1, 2, 3, 4, 5}) {
		t.Fatalf("output 2: %+v", out[1])
	}
	for i, v := range o2 {
		if v != float64(bs[i]) {
			t.Errorf("output 2[%d] = %v, want %v", i, v, bs[i])
		}
	}
}

func TestMultitype(t *testing.T) {
	m := load(t, newTestBackend(t), testModel(t, "example_multitype.onnx"))
	want := backends.Metadata{
		Inputs: []backends.TensorSpec{
			{Name: "InputA", DataType: backends.Uint8, Shape: []int64{1, 1, 1}},
			{Name: "InputB", DataType: backends.FP64, Shape: []int64{1, 2, 2}},
		},
		Outputs: []backends.TensorSpec{
			{Name: "OutputA", DataType: backends.Int16, Shape: []int64{1, 2, 2}},
			{Name: "OutputB", DataType: backends.Int64, Shape: []int64{1, 1, 1}},
		},
	}
	if got := m.Metadata(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Metadata() = %v, want %v", got, want)
	}
	// OutputA = int16(B*A - 512); OutputB = int64(A) * 1234.
	out, err := m.Run(context.Background(), []backends.Tensor{
		{Name: "InputA", DataType: backends.Uint8, Shape: []int64{1, 1, 1}, Data: []byte{200}},
		{Name: "InputB", DataType: backends.FP64, Shape: []int64{1, 2, 2}, Data: f64Bytes(1.5, 2.25, 3, 4)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := i16s(out[0].Data), []int16{-212, -62, 88, 288}; !reflect.DeepEqual(got, want) {
		t.Errorf("OutputA = %v, want %v", got, want)
	}
	if got, want := i64s(out[1].Data), []int64{200 * 1234}; !reflect.DeepEqual(got, want) {
		t.Errorf("OutputB = %v, want %v", got, want)
	}
	if out[0].DataType != backends.Int16 || out[1].DataType != backends.Int64 {
		t.Errorf("datatypes %s, %s", out[0].DataType, out[1].DataType)
	}
}

func TestFloat16(t *testing.T) {
	m := load(t, newTestBackend(t), testModel(t, "example_float16.onnx"))
	meta := m.Metadata()
	if meta.Inputs[0].DataType != backends.FP16 || meta.Outputs[0].DataType != backends.BF16 {
		t.Fatalf("Metadata() = %v, want an FP16 input and a BF16 output", meta)
	}
	// 0..7 as FP16; the output is 3x the input, as BF16.
	in := []byte{0x00, 0x00, 0x00, 0x3c, 0x00, 0x40, 0x00, 0x42, 0x00, 0x44, 0x00, 0x45, 0x00, 0x46, 0x00, 0x47}
	out, err := m.Run(context.Background(), []backends.Tensor{{DataType: backends.FP16, Shape: []int64{1, 2, 2, 2}, Data: in}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		bits := uint32(binary.LittleEndian.Uint16(out[0].Data[2*i:])) << 16
		if got := math.Float32frombits(bits); got != float32(3*i) {
			t.Errorf("OutputA[%d] = %v, want %v", i, got, 3*i)
		}
	}
}

func TestStrings(t *testing.T) {
	m, err := loadErr(newTestBackend(t), testModel(t, "example_strings.onnx"))
	if err != nil {
		if strings.Contains(err.Error(), "locale") {
			t.Skipf("StringNormalizer needs the en_US.UTF-8 locale, missing here: %v", err)
		}
		t.Fatal(err)
	}
	defer m.Close()
	in := [][]byte{[]byte("I"), []byte("eAt"), []byte("POTATOEs!!"), {}}
	out, err := m.Run(context.Background(), []backends.Tensor{{DataType: backends.Bytes, Shape: []int64{4}, Strings: in}})
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range out {
		for j, s := range o.Strings {
			want := bytes.ToLower(in[j])
			if o.Name == "output_upper" {
				want = bytes.ToUpper(in[j])
			}
			if !bytes.Equal(s, want) {
				t.Errorf("output %d (%s)[%d] = %q, want %q", i, o.Name, j, s, want)
			}
		}
	}
}

func TestSklearnSequenceOutputLeftOut(t *testing.T) {
	b := newTestBackend(t)
	var logs bytes.Buffer
	path := testModel(t, "sklearn_randomforest.onnx")
	m, err := b.Load(context.Background(), backends.LoadSpec{
		Model: "iris", Path: path, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !strings.Contains(logs.String(), "output_probability") || !strings.Contains(logs.String(), "sequence") {
		t.Errorf("no warning naming the sequence output: %q", logs.String())
	}
	want := backends.Metadata{
		Inputs:  []backends.TensorSpec{{Name: "X", DataType: backends.FP32, Shape: []int64{-1, 4}}},
		Outputs: []backends.TensorSpec{{Name: "output_label", DataType: backends.Int64, Shape: []int64{-1}}},
	}
	if got := m.Metadata(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Metadata() = %v, want %v", got, want)
	}
	// Inputs and labels from onnxruntime_go's TestSklearnNetwork.
	x := f32Bytes(5.9, 3.0, 5.1, 1.8, 6.8, 2.8, 4.8, 1.4, 6.3, 2.3, 4.4, 1.3,
		6.5, 3.0, 5.5, 1.8, 7.7, 2.8, 6.7, 2.0, 5.5, 2.5, 4.0, 1.3)
	out, err := m.Run(context.Background(), []backends.Tensor{{Name: "X", DataType: backends.FP32, Shape: []int64{6, 4}, Data: x}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := i64s(out[0].Data), []int64{2, 1, 1, 2, 2, 1}; len(out) != 1 || !reflect.DeepEqual(got, want) {
		t.Errorf("labels = %v, want %v", got, want)
	}
}

func TestBadInputs(t *testing.T) {
	m := load(t, newTestBackend(t), testModel(t, "example_dynamic_axes.onnx"))
	good := batchOf(2)[0]
	with := func(f func(*backends.Tensor)) []backends.Tensor {
		t := good
		f(&t)
		return []backends.Tensor{t}
	}
	cases := []struct {
		name   string
		inputs []backends.Tensor
		want   string
	}{
		{"too few bytes", with(func(t *backends.Tensor) { t.Data = t.Data[:12] }), "needs 80 bytes, got 12"},
		{"too many bytes", with(func(t *backends.Tensor) { t.Data = append(t.Data, 0) }), "needs 80 bytes, got 81"},
		{"wrong fixed axis", with(func(t *backends.Tensor) { t.Shape = []int64{4, 5} }), "does not fit model shape"},
		{"wrong rank", with(func(t *backends.Tensor) { t.Shape = []int64{20} }), "does not fit model shape"},
		{"negative axis", with(func(t *backends.Tensor) { t.Shape = []int64{-2, 10} }), "invalid shape"},
		{"wrong datatype", with(func(t *backends.Tensor) { t.DataType = backends.Int32 }), "datatype INT32, model expects FP32"},
		{"wrong name", with(func(t *backends.Tensor) { t.Name = "other" }), `input 0 is "other"`},
		{"no inputs", nil, "got 0 inputs, model has 1"},
	}
	for _, c := range cases {
		_, err := m.Run(context.Background(), c.inputs)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "example_dynamic_axes.onnx") {
			t.Errorf("%s: Run = %v, want an error naming the model and containing %q", c.name, err, c.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Run(ctx, batchOf(1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context = %v", err)
	}
	// The model still works.
	out, err := m.Run(context.Background(), batchOf(2))
	if err != nil {
		t.Fatal(err)
	}
	checkSums(t, out, 2)
}

// Results must stay valid after their ORT values are gone and later runs
// have reused ORT's memory.
func TestResultsOutliveRun(t *testing.T) {
	m := load(t, newTestBackend(t), testModel(t, "example_dynamic_axes.onnx"))
	first, err := m.Run(context.Background(), batchOf(5))
	if err != nil {
		t.Fatal(err)
	}
	in := batchOf(5)
	for range 20 {
		for i := range in[0].Data {
			in[0].Data[i] = 0xff
		}
		if _, err := m.Run(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
	}
	checkSums(t, first, 5)
}

func TestIdentityFixedShape(t *testing.T) {
	m := load(t, newTestBackend(t), identityModel(t, onnxFloat, 2, 3))
	in := f32Bytes(1, 2, 3, 4, 5, 6)
	out, err := m.Run(context.Background(), []backends.Tensor{{DataType: backends.FP32, Shape: []int64{2, 3}, Data: in}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out[0].Data, in) || !reflect.DeepEqual(out[0].Shape, []int64{2, 3}) {
		t.Errorf("identity returned %+v", out[0])
	}
}

func TestBytesRoundTrip(t *testing.T) {
	m := load(t, newTestBackend(t), identityModel(t, onnxString, -1, 2))
	if got := m.Metadata().Inputs[0]; got.DataType != backends.Bytes || !reflect.DeepEqual(got.Shape, []int64{-1, 2}) {
		t.Fatalf("input %v, want BYTES[-1 2]", got)
	}
	for _, in := range [][][]byte{
		{[]byte("tiffin"), {}, []byte("ünïcødé 大"), []byte("\xff\xfe binary")},
		{},
	} {
		shape := []int64{int64(len(in) / 2), 2}
		out, err := m.Run(context.Background(), []backends.Tensor{{DataType: backends.Bytes, Shape: shape, Strings: in}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out[0].Strings) != len(in) || !reflect.DeepEqual(out[0].Shape, shape) || out[0].Data != nil {
			t.Fatalf("got %+v for %q", out[0], in)
		}
		for i := range in {
			if !bytes.Equal(out[0].Strings[i], in[i]) {
				t.Errorf("element %d: %q, want %q", i, out[0].Strings[i], in[i])
			}
		}
	}
	_, err := m.Run(context.Background(), []backends.Tensor{{DataType: backends.Bytes, Shape: []int64{1, 2}, Strings: [][]byte{[]byte("a\x00b"), {}}}})
	if err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Errorf("element with a NUL byte: %v", err)
	}
}

// FP16 outputs are allocated by the backend (see outputValues), which needs
// their shape before the run.
func TestFloat16DynamicShapes(t *testing.T) {
	b := newTestBackend(t)
	batched := load(t, b, identityModel(t, onnxFloat16, -1, 2))
	for _, n := range []int64{3, 1, 0} {
		in := make([]byte, 4*n)
		for i := range in {
			in[i] = byte(i)
		}
		out, err := batched.Run(context.Background(), []backends.Tensor{{DataType: backends.FP16, Shape: []int64{n, 2}, Data: in}})
		if err != nil {
			t.Fatalf("batch %d: %v", n, err)
		}
		if !bytes.Equal(out[0].Data, in) || !reflect.DeepEqual(out[0].Shape, []int64{n, 2}) {
			t.Errorf("batch %d: got %+v", n, out[0])
		}
	}
	inner := load(t, b, identityModel(t, onnxFloat16, 2, -1))
	_, err := inner.Run(context.Background(), []backends.Tensor{{DataType: backends.FP16, Shape: []int64{2, 2}, Data: make([]byte, 8)}})
	if err == nil || !strings.Contains(err.Error(), "fixed but for the batch axis") {
		t.Errorf("FP16 output with a dynamic inner axis: %v", err)
	}
}

func TestDataTypeMapping(t *testing.T) {
	for d := backends.Bool; d <= backends.Bytes; d++ {
		o := toORT[d]
		if back, ok := fromORT[o]; !ok || back != d {
			t.Errorf("%s maps to ORT type %v, which maps back to %v", d, o, back)
		}
	}
}

// The backend allocates an output in Go memory when its shape is known
// before the run, taking a dynamic leading axis for the batch axis. An
// output whose leading axis is dynamic but not the batch (a Concat of two
// inputs along axis 0, here: N+K rows) makes ORT refuse that buffer: the
// run is retried with ORT allocating it, and ORT allocates it from then on.
func TestOutputNotOnTheBatchAxis(t *testing.T) {
	rowsOf := func(sym string) []byte { // FP32 [sym, 2]
		shape := pbBytes(pbBytes(nil, 1, pbBytes(nil, 2, []byte(sym))), 1, pbInt(nil, 1, 2))
		return pbBytes(nil, 1, pbBytes(pbInt(nil, 1, onnxFloat), 2, shape))
	}
	axis := pbInt(pbInt(pbBytes(nil, 1, []byte("axis")), 3, 0), 20, 2) // AttributeProto{name, i: 0, type: INT}
	n := pbBytes(pbBytes(pbBytes(nil, 1, []byte("a")), 1, []byte("b")), 2, []byte("y"))
	n = pbBytes(pbBytes(n, 4, []byte("Concat")), 5, axis)
	g := pbBytes(pbBytes(nil, 1, n), 2, []byte("g"))
	g = pbBytes(pbBytes(g, 11, valueInfo("a", rowsOf("N"))), 11, valueInfo("b", rowsOf("K")))
	g = pbBytes(g, 12, valueInfo("y", rowsOf("NK")))
	model := pbBytes(pbBytes(pbInt(nil, 1, 8), 8, pbInt(nil, 2, 17)), 7, g)
	m := load(t, newTestBackend(t), writeModel(t, "concat.onnx", model))
	in := func(name string, rows int, from float32) backends.Tensor {
		vs := make([]float32, rows*2)
		for i := range vs {
			vs[i] = from + float32(i)
		}
		return backends.Tensor{Name: name, DataType: backends.FP32, Shape: []int64{int64(rows), 2}, Data: f32Bytes(vs...)}
	}
	for _, k := range []int{0, 3, 1} {
		res, err := m.Run(context.Background(), []backends.Tensor{in("a", 2, 0), in("b", k, 4)})
		if err != nil {
			t.Fatalf("2+%d rows: %v", k, err)
		}
		want := make([]float32, (2+k)*2)
		for i := range want {
			want[i] = float32(i)
		}
		if got := res[0]; !reflect.DeepEqual(got.Shape, []int64{int64(2 + k), 2}) || !reflect.DeepEqual(f32s(got.Data), want) {
			t.Fatalf("2+%d rows: got shape %v data %v, want %v", k, got.Shape, f32s(got.Data), want)
		}
	}
	if !m.(*Model).oursRefused {
		t.Fatal("ORT's refusal of a Go buffer was not remembered")
	}
}
