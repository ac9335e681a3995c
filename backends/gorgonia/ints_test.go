package gorgonia

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

const (
	tFloat = onnxpb.TensorProto_FLOAT
	tInt64 = onnxpb.TensorProto_INT64
	tInt32 = onnxpb.TensorProto_INT32
)

// wantFloats checks that out is an FP32 tensor of shape holding want.
func wantFloats(t *testing.T, what string, out backends.Tensor, shape []int64, want ...float32) {
	t.Helper()
	if out.DataType != backends.FP32 || !slices.Equal(out.Shape, shape) {
		t.Fatalf("%s: got %s %v, want FP32 %v", what, out.DataType, out.Shape, shape)
	}
	checkClose(t, what, bytesF32(out.Data), want, 1e-6)
}

// wantInts checks that out is an integer tensor of datatype dt and shape
// holding want.
func wantInts(t *testing.T, what string, out backends.Tensor, dt backends.DataType, shape []int64, want ...int64) {
	t.Helper()
	if out.DataType != dt || !slices.Equal(out.Shape, shape) {
		t.Fatalf("%s: got %s %v, want %s %v", what, out.DataType, out.Shape, dt, shape)
	}
	if got := intsOf(out); !slices.Equal(got, want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// runErr runs m and returns its error, failing the test when there is none.
func runErr(t *testing.T, m backends.Model, inputs ...backends.Tensor) error {
	t.Helper()
	_, err := m.Run(context.Background(), inputs)
	if err == nil {
		t.Fatal("Run succeeded, want an error")
	}
	return err
}

func wantErr(t *testing.T, err error, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

// TestExpandRuntimeShape feeds Expand's shape as an INT64 model input: each
// distinct shape value builds a graph of its own, and both stay right.
func TestExpandRuntimeShape(t *testing.T) {
	g := newTestGraph().input("x", 3, 1).typedInput("shape", tInt64, 2).output("y", -1, -1).
		node("Expand", []string{"x", "shape"}, []string{"y"})
	m := load(t, New(Options{Logger: quiet}), "expand", g.bytes(t))
	x := fp32("x", []int64{3, 1}, 1, 2, 3)
	for pass := range 2 {
		out := run(t, m, x, int64s("shape", []int64{2}, 3, 4))
		wantFloats(t, "shape [3 4]", out[0], []int64{3, 4}, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3)
		out = run(t, m, x, int64s("shape", []int64{2}, 1, 2))
		wantFloats(t, "shape [1 2]", out[0], []int64{3, 2}, 1, 1, 2, 2, 3, 3)
		if n := len(m.(*Model).cache.machines); n != 2 {
			t.Fatalf("pass %d: %d graphs, want one per shape value (2)", pass, n)
		}
	}
	if key := m.(*Model).cache.machines[0].key; key != "3x1;2=1,2;" {
		t.Errorf("most recent graph's key is %q, want the shapes and the integer values", key)
	}
	err := runErr(t, m, x, int64s("shape", []int64{2}, 2, 2))
	wantErr(t, err, `model "expand": node 0 ("Expand_node"): Expand: shapes [3 1] and [2 2] cannot be broadcast together`)
}

// TestGatherIndicesInput is an embedding lookup: Gather from a weight
// initializer by INT64 (then INT32) indices given as a model input, negative
// ones counting from the end. It folds to a constant per index set.
func TestGatherIndicesInput(t *testing.T) {
	for _, c := range []struct {
		elem onnxpb.TensorProto_DataType
		ids  func(name string, shape []int64, data ...int64) backends.Tensor
	}{{tInt64, int64s}, {tInt32, int32s}} {
		t.Run(c.elem.String(), func(t *testing.T) {
			g := newTestGraph().typedInput("ids", c.elem, 1, -1).output("y", 1, -1, 2).
				init("w", []int64{4, 2}, 0, 1, 10, 11, 20, 21, 30, 31).
				node("Gather", []string{"w", "ids"}, []string{"y"})
			m := load(t, New(Options{Logger: quiet}), "embedding", g.bytes(t))
			out := run(t, m, c.ids("ids", []int64{1, 3}, 2, 0, -1))
			wantFloats(t, "ids [2 0 -1]", out[0], []int64{1, 3, 2}, 20, 21, 0, 1, 30, 31)
			out = run(t, m, c.ids("ids", []int64{1, 2}, 1, 1))
			wantFloats(t, "ids [1 1]", out[0], []int64{1, 2, 2}, 10, 11, 10, 11)
			err := runErr(t, m, c.ids("ids", []int64{1, 1}, 4))
			wantErr(t, err, `Gather: index 4 is out of range for axis 0 of [4 2]`)
		})
	}
}

// TestIntegerOutputs returns integer outputs that are build-time constants:
// a Shape (built at load, no integer inputs), and arithmetic on integer
// inputs and initializers, as INT64 and INT32.
func TestIntegerOutputs(t *testing.T) {
	t.Run("shape", func(t *testing.T) {
		g := newTestGraph().input("x", -1, 3).typedOutput("s", tInt64, 2).node("Shape", []string{"x"}, []string{"s"})
		m := load(t, New(Options{Logger: quiet}), "shape", g.bytes(t))
		for _, batch := range []int64{2, 5} {
			out := run(t, m, fp32("x", []int64{batch, 3}, make([]float32, 3*batch)...))
			wantInts(t, "Shape", out[0], backends.Int64, []int64{2}, batch, 3)
		}
	})
	t.Run("int64-arithmetic", func(t *testing.T) {
		// pytorch-operator's test_operator_non_float_params: (a + w) * a.
		g := newTestGraph().typedInput("a", tInt64, 2, 2).typedOutput("y", tInt64, 2, 2).initInt64("w", 1, 2).
			node("Add", []string{"a", "w"}, []string{"s"}).node("Mul", []string{"a", "s"}, []string{"y"})
		m := load(t, New(Options{Logger: quiet}), "ints", g.bytes(t))
		out := run(t, m, int64s("a", []int64{2, 2}, 1, 2, 3, -4))
		wantInts(t, "(a+w)*a", out[0], backends.Int64, []int64{2, 2}, 2, 8, 12, 8)
		out = run(t, m, int64s("a", []int64{2, 2}, 100000003, 0, 0, 0)) // exact beyond float32's 24 bits
		wantInts(t, "large", out[0], backends.Int64, []int64{2, 2}, 100000004*100000003, 0, 0, 0)
	})
	t.Run("int32", func(t *testing.T) {
		g := newTestGraph().typedInput("a", tInt32, 3).typedOutput("y", tInt32, 3).
			node("Div", []string{"a", "k"}, []string{"y"})
		g.g.Initializer = append(g.g.Initializer, &onnxpb.TensorProto{Name: "k", DataType: int32(tInt32), Int32Data: []int32{2}})
		m := load(t, New(Options{Logger: quiet}), "ints32", g.bytes(t))
		out := run(t, m, int32s("a", []int64{3}, 7, -7, 1<<30))
		wantInts(t, "a/2", out[0], backends.Int32, []int64{3}, 3, -3, 1<<29)
	})
	t.Run("computed-at-run-time", func(t *testing.T) {
		g := newTestGraph().input("x", -1, 3).typedOutput("y", tInt64, -1, 3).node("Relu", []string{"x"}, []string{"y"})
		mustFail(t, "m", g.bytes(t), `model "m": output "y" (INT64) is computed when the model runs; the gorgonia backend returns integer outputs only when they are known as the graph is built`)
	})
}

// TestIntegerInputBounds refuses integer inputs too large to be build-time
// constants: at Load for a fixed shape, at Run for a dynamic one, naming
// the input; and refuses integer inputs of unknown rank.
func TestIntegerInputBounds(t *testing.T) {
	gather := func(dims ...int64) *testGraph {
		return newTestGraph().typedInput("ids", tInt64, dims...).output("y", -1, 2).init("w", []int64{2, 2}, 1, 2, 3, 4).
			node("Gather", []string{"w", "ids"}, []string{"y"})
	}
	mustFail(t, "big", gather(5000).bytes(t), `model "big": input "ids" (INT64 of shape [5000]) holds more than 4096 values, the most the gorgonia backend takes as a build-time constant`, "serve models that take token ids with onnxruntime")

	m := load(t, New(Options{Logger: quiet}), "dyn", gather(-1).bytes(t))
	out := run(t, m, int64s("ids", []int64{4096}, make([]int64, 4096)...))
	if len(out[0].Data) != 4096*2*4 {
		t.Fatalf("4096 ids: %d bytes out", len(out[0].Data))
	}
	err := runErr(t, m, int64s("ids", []int64{4097}, make([]int64, 4097)...))
	wantErr(t, err, `model "dyn": input "ids": INT64 of shape [4097] holds 4097 values, more than the 4096 the gorgonia backend takes as a build-time constant`)

	g := gather(2)
	g.g.Input[0].Type.GetTensorType().Shape = nil
	mustFail(t, "norank", g.bytes(t), `model "norank": input "ids" has no shape (unknown rank); the gorgonia backend needs integer inputs of known rank`)
}

// TestDerivedPerIntegerValue checks that Gemm's packed weights, cached
// across graphs when they are fixed, are packed again for each value of an
// integer input they depend on.
func TestDerivedPerIntegerValue(t *testing.T) {
	// The gathered rows are Gemm's constant B.
	g := newTestGraph().input("x", 1, 2).typedInput("ids", tInt64, 2).output("y", 1, 2).
		init("w", []int64{3, 2}, 1, 0, 0, 1, 2, 2).
		node("Gather", []string{"w", "ids"}, []string{"b"}).node("Gemm", []string{"x", "b"}, []string{"y"})
	m := load(t, New(Options{Logger: quiet}), "gemm", g.bytes(t))
	x := fp32("x", []int64{1, 2}, 3, 5)
	for range 2 {
		wantFloats(t, "ids [0 1]", run(t, m, x, int64s("ids", []int64{2}, 0, 1))[0], []int64{1, 2}, 3, 5)
		wantFloats(t, "ids [2 0]", run(t, m, x, int64s("ids", []int64{2}, 2, 0))[0], []int64{1, 2}, 11, 6)
	}
}

// TestEmptyInput takes an empty FP32 input as a build-time constant (it
// holds no values): fine where only its shape matters, refused, naming the
// node, where the graph would compute on it.
func TestEmptyInput(t *testing.T) {
	g := newTestGraph().input("x", -1, 2).typedOutput("s", tInt64, 2).node("Shape", []string{"x"}, []string{"s"})
	m := load(t, New(Options{Logger: quiet}), "empty", g.bytes(t))
	wantInts(t, "Shape of an empty x", run(t, m, fp32("x", []int64{0, 2}))[0], backends.Int64, []int64{2}, 0, 2)
	wantInts(t, "Shape of x", run(t, m, fp32("x", []int64{1, 2}, 1, 2))[0], backends.Int64, []int64{2}, 1, 2)

	g = newTestGraph().input("x", -1, 2).output("y", -1, 2).node("Relu", []string{"x"}, []string{"y"})
	m = load(t, New(Options{Logger: quiet}), "relu", g.bytes(t))
	err := runErr(t, m, fp32("x", []int64{0, 2}))
	wantErr(t, err, `model "relu": node 0 ("Relu_node"): Relu: an empty tensor (shape [0 2]) reaches an op that computes in the graph; the gorgonia backend does not run empty tensors`)
}
