package gorgonia

import (
	"context"
	"log/slog"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

// quiet discards the backend's logs.
var quiet = slog.New(slog.DiscardHandler)

// testGraph builds a small ONNX model in a test. A -1 dimension is the
// symbolic "batch".
type testGraph struct {
	g     *onnxpb.GraphProto
	opset int64
}

func newTestGraph() *testGraph { return &testGraph{g: &onnxpb.GraphProto{Name: "test"}, opset: 13} }

func valueInfo(name string, elem onnxpb.TensorProto_DataType, dims []int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}}
		if d < 0 {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{Name: name, Type: &onnxpb.TypeProto{
		Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: int32(elem), Shape: shape}},
	}}
}

func (t *testGraph) input(name string, dims ...int64) *testGraph {
	t.g.Input = append(t.g.Input, valueInfo(name, onnxpb.TensorProto_FLOAT, dims))
	return t
}

func (t *testGraph) output(name string, dims ...int64) *testGraph {
	t.g.Output = append(t.g.Output, valueInfo(name, onnxpb.TensorProto_FLOAT, dims))
	return t
}

// typedInput adds an input of element type elem; no dims is a scalar.
func (t *testGraph) typedInput(name string, elem onnxpb.TensorProto_DataType, dims ...int64) *testGraph {
	t.g.Input = append(t.g.Input, valueInfo(name, elem, dims))
	return t
}

// typedOutput adds an output of element type elem; no dims is a scalar.
func (t *testGraph) typedOutput(name string, elem onnxpb.TensorProto_DataType, dims ...int64) *testGraph {
	t.g.Output = append(t.g.Output, valueInfo(name, elem, dims))
	return t
}

// init adds an FP32 initializer, in float_data (the model generator uses
// raw_data, so both encodings get exercised).
func (t *testGraph) init(name string, dims []int64, data ...float32) *testGraph {
	t.g.Initializer = append(t.g.Initializer, &onnxpb.TensorProto{
		Name: name, DataType: int32(onnxpb.TensorProto_FLOAT), Dims: dims, FloatData: data,
	})
	return t
}

func (t *testGraph) initInt64(name string, data ...int64) *testGraph {
	t.g.Initializer = append(t.g.Initializer, &onnxpb.TensorProto{
		Name: name, DataType: int32(onnxpb.TensorProto_INT64), Dims: []int64{int64(len(data))}, Int64Data: data,
	})
	return t
}

func (t *testGraph) node(op string, in, out []string, attrs ...*onnxpb.AttributeProto) *testGraph {
	t.g.Node = append(t.g.Node, &onnxpb.NodeProto{Name: op + "_node", OpType: op, Input: in, Output: out, Attribute: attrs})
	return t
}

func (t *testGraph) bytes(tb testing.TB) []byte {
	tb.Helper()
	b, err := proto.Marshal(&onnxpb.ModelProto{
		IrVersion: 8, Graph: t.g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: t.opset}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func aInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_INT, I: v}
}

func aInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_INTS, Ints: v}
}

func aFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_FLOAT, F: v}
}

func aStr(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_STRING, S: []byte(v)}
}

// writeModel writes model bytes to a temporary file and returns its path.
func writeModel(tb testing.TB, name string, data []byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name+".onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// loadPath loads the model file at path as instance 0 with one thread.
func loadPath(b *Backend, name, path string) (backends.Model, error) {
	return b.Load(context.Background(), backends.LoadSpec{Model: name, Version: 1, Path: path, Threads: 1, Logger: quiet})
}

// loadErr writes model bytes to a temporary file and loads them.
func loadErr(tb testing.TB, b *Backend, name string, data []byte) (backends.Model, error) {
	tb.Helper()
	return loadPath(b, name, writeModel(tb, name, data))
}

// load is loadErr that fails the test on error and closes the model at
// cleanup.
func load(tb testing.TB, b *Backend, name string, data []byte) backends.Model {
	tb.Helper()
	m, err := loadErr(tb, b, name, data)
	if err != nil {
		tb.Fatalf("Load %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return m
}

// fp32 makes an input tensor.
func fp32(name string, shape []int64, data ...float32) backends.Tensor {
	return backends.Tensor{Name: name, DataType: backends.FP32, Shape: shape, Data: f32Bytes(data)}
}

// int64s makes an INT64 input tensor; a nil shape is a scalar.
func int64s(name string, shape []int64, data ...int64) backends.Tensor {
	b, _ := intBytes(data, backends.Int64)
	return backends.Tensor{Name: name, DataType: backends.Int64, Shape: shape, Data: b}
}

// int32s makes an INT32 input tensor.
func int32s(name string, shape []int64, data ...int64) backends.Tensor {
	b, err := intBytes(data, backends.Int32)
	if err != nil {
		panic(err)
	}
	return backends.Tensor{Name: name, DataType: backends.Int32, Shape: shape, Data: b}
}

// run runs m and fails the test on error.
func run(tb testing.TB, m backends.Model, inputs ...backends.Tensor) []backends.Tensor {
	tb.Helper()
	out, err := m.Run(context.Background(), inputs)
	if err != nil {
		tb.Fatalf("Run: %v", err)
	}
	return out
}

// checkClose compares values within tol, absolute.
func checkClose(tb testing.TB, what string, got, want []float32, tol float64) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	worst, at := 0.0, -1
	for i := range got {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		if d > worst {
			worst, at = d, i
		}
	}
	if worst > tol {
		tb.Fatalf("%s: |got-want| = %g at %d (got %v, want %v); tolerance %g", what, worst, at, got[at], want[at], tol)
	}
}

// normals draws n values from N(0,1) with a fixed seed.
func normals(n int, seed int64) []float32 {
	r := rand.New(rand.NewSource(seed))
	vs := make([]float32, n)
	for i := range vs {
		vs[i] = float32(r.NormFloat64())
	}
	return vs
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
