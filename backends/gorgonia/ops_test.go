package gorgonia

import (
	"math"
	"slices"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

// opCase is a one-node (or few-node) model with inputs and the expected
// output, computed by hand.
type opCase struct {
	name   string
	graph  *testGraph
	inputs []backends.Tensor
	shape  []int64
	want   []float32
}

func (c opCase) check(t *testing.T) {
	t.Helper()
	m := load(t, New(Options{Logger: quiet}), c.name, c.graph.bytes(t))
	for pass := range 2 {
		out := run(t, m, c.inputs...)
		if len(out) != 1 || !slices.Equal(out[0].Shape, c.shape) {
			t.Fatalf("pass %d: got %+v, want one output of shape %v", pass, out, c.shape)
		}
		checkClose(t, c.name, bytesF32(out[0].Data), c.want, 1e-6)
	}
}

// unaryCase is op applied to x = [-2, -0.5, 0, 1.5] ([1,4]).
func unaryCase(op string, f func(float64) float64, attrs ...*onnxpb.AttributeProto) opCase {
	x := []float32{-2, -0.5, 0, 1.5}
	if op == "Log" {
		x = []float32{0.25, 1, 2, 10}
	}
	want := make([]float32, len(x))
	for i, v := range x {
		want[i] = float32(f(float64(v)))
	}
	return opCase{
		name:   op,
		graph:  newTestGraph().input("x", -1, 4).output("y", -1, 4).node(op, []string{"x"}, []string{"y"}, attrs...),
		inputs: []backends.Tensor{fp32("x", []int64{1, 4}, x...)},
		shape:  []int64{1, 4}, want: want,
	}
}

func TestUnaryOps(t *testing.T) {
	for _, c := range []opCase{
		unaryCase("Relu", func(x float64) float64 { return math.Max(x, 0) }),
		unaryCase("LeakyRelu", func(x float64) float64 { return math.Max(x, 0) + 0.1*math.Min(x, 0) }, aFloat("alpha", 0.1)),
		unaryCase("Sigmoid", sigmoid),
		unaryCase("Tanh", math.Tanh),
		unaryCase("Exp", math.Exp),
		unaryCase("Log", math.Log),
		unaryCase("Identity", func(x float64) float64 { return x }),
		unaryCase("Dropout", func(x float64) float64 { return x }, aFloat("ratio", 0.5)),
	} {
		t.Run(c.name, c.check)
	}
}

func TestBroadcastArithmetic(t *testing.T) {
	x := fp32("x", []int64{2, 3}, 1, 2, 3, 4, 5, 6)
	bin := func(op string, rows int64, b []int64, bdata ...float32) *testGraph {
		return newTestGraph().input("x", -1, 3).output("y", rows, 3).init("b", b, bdata...).
			node(op, []string{"x", "b"}, []string{"y"})
	}
	for _, c := range []opCase{
		{"sub-row", bin("Sub", -1, []int64{3}, 1, 2, 3), []backends.Tensor{x}, []int64{2, 3}, []float32{0, 0, 0, 3, 3, 3}},
		{"div-column", bin("Div", -1, []int64{2, 1}, 2, 4), []backends.Tensor{x}, []int64{2, 3}, []float32{0.5, 1, 1.5, 1, 1.25, 1.5}},
		{"mul-scalar", bin("Mul", -1, nil, 10), []backends.Tensor{x}, []int64{2, 3}, []float32{10, 20, 30, 40, 50, 60}},
		{"add-same-shape", bin("Add", -1, []int64{2, 3}, 1, 1, 1, 2, 2, 2), []backends.Tensor{x}, []int64{2, 3}, []float32{2, 3, 4, 6, 7, 8}},
		{"sub-left-broadcast", newTestGraph().input("x", -1, 3).output("y", -1, 3).init("b", []int64{3}, 10, 20, 30).
			node("Sub", []string{"b", "x"}, []string{"y"}), []backends.Tensor{x}, []int64{2, 3}, []float32{9, 18, 27, 6, 15, 24}},
		{"add-outer", newTestGraph().input("x", -1, 1).output("y", -1, 3).init("b", []int64{1, 3}, 10, 20, 30).
			node("Add", []string{"x", "b"}, []string{"y"}), []backends.Tensor{fp32("x", []int64{2, 1}, 1, 2)},
			[]int64{2, 3}, []float32{11, 21, 31, 12, 22, 32}},
		{"div-two-inputs", newTestGraph().input("x", -1, 3).input("z", -1, 3).output("y", -1, 3).
			node("Div", []string{"x", "z"}, []string{"y"}),
			[]backends.Tensor{x, fp32("z", []int64{2, 3}, 1, 2, 3, 8, 10, 12)}, []int64{2, 3}, []float32{1, 1, 1, 0.5, 0.5, 0.5}},
	} {
		t.Run(c.name, c.check)
	}
}

func TestSoftmax(t *testing.T) {
	x := []float32{1, 2, 3, 0, 0, 0}
	e := func(v float64) float32 { return float32(v) }
	s1 := 1 + math.E + math.E*math.E
	lastAxis := []float32{e(1 / s1), e(math.E / s1), e(math.E * math.E / s1), e(1.0 / 3), e(1.0 / 3), e(1.0 / 3)}
	col := func(a float64) float32 { return e(math.Exp(a) / (math.Exp(a) + 1)) } // axis 0: x against 0
	firstAxis := []float32{col(1), col(2), col(3), col(-1), col(-2), col(-3)}
	graph := func(opset int64, attrs ...*onnxpb.AttributeProto) *testGraph {
		g := newTestGraph().input("x", -1, 3).output("y", -1, 3).node("Softmax", []string{"x"}, []string{"y"}, attrs...)
		g.opset = opset
		return g
	}
	in := []backends.Tensor{fp32("x", []int64{2, 3}, x...)}
	for _, c := range []opCase{
		{"default-axis", graph(13), in, []int64{2, 3}, lastAxis},
		{"axis-0", graph(13, aInt("axis", 0)), in, []int64{2, 3}, firstAxis},
		{"axis-minus-1", graph(13, aInt("axis", -1)), in, []int64{2, 3}, lastAxis},
		{"opset-11-coerced", graph(11, aInt("axis", 0)), in, []int64{2, 3}, func() []float32 {
			var s float64 // one softmax over all six values
			for _, v := range x {
				s += math.Exp(float64(v))
			}
			out := make([]float32, len(x))
			for i, v := range x {
				out[i] = e(math.Exp(float64(v)) / s)
			}
			return out
		}()},
	} {
		t.Run(c.name, c.check)
	}
}

func TestShapeOps(t *testing.T) {
	x := fp32("x", []int64{2, 3}, 1, 2, 3, 4, 5, 6)
	x3 := fp32("x", []int64{2, 2, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
	for _, c := range []opCase{
		{"transpose-2d", newTestGraph().input("x", -1, 3).output("y", 3, -1).node("Transpose", []string{"x"}, []string{"y"}),
			[]backends.Tensor{x}, []int64{3, 2}, []float32{1, 4, 2, 5, 3, 6}},
		{"transpose-3d", newTestGraph().input("x", -1, 2, 3).output("y", 3, -1, 2).node("Transpose", []string{"x"}, []string{"y"}, aInts("perm", 2, 0, 1)),
			[]backends.Tensor{x3}, []int64{3, 2, 2}, []float32{1, 4, 7, 10, 2, 5, 8, 11, 3, 6, 9, 12}},
		{"transpose-constant", newTestGraph().input("x", 3, 1, 2).output("y", 3, 1, 2).init("c", []int64{1, 2, 3}, 1, 2, 3, 4, 5, 6).
			node("Transpose", []string{"c"}, []string{"ct"}, aInts("perm", 2, 0, 1)).node("Add", []string{"x", "ct"}, []string{"y"}),
			[]backends.Tensor{fp32("x", []int64{3, 1, 2}, make([]float32, 6)...)}, []int64{3, 1, 2}, []float32{1, 4, 2, 5, 3, 6}},
		{"concat-axis-1", newTestGraph().input("x", 2, 3).output("y", 2, 5).init("c", []int64{2, 2}, 7, 8, 9, 10).
			node("Concat", []string{"x", "c"}, []string{"y"}, aInt("axis", -1)),
			[]backends.Tensor{x}, []int64{2, 5}, []float32{1, 2, 3, 7, 8, 4, 5, 6, 9, 10}},
		{"concat-axis-0", newTestGraph().input("x", -1, 3).output("y", -1, 3).init("c", []int64{1, 3}, 7, 8, 9).
			node("Concat", []string{"c", "x"}, []string{"y"}, aInt("axis", 0)),
			[]backends.Tensor{x}, []int64{3, 3}, []float32{7, 8, 9, 1, 2, 3, 4, 5, 6}},
		{"reshape-0-and-minus-1", newTestGraph().input("x", -1, 2, 3).output("y", -1, 6).initInt64("s", 0, -1).
			node("Reshape", []string{"x", "s"}, []string{"y"}),
			[]backends.Tensor{x3}, []int64{2, 6}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		// x reshaped, rectified in place by gorgonia, and used again: the
		// copying reshape keeps x intact.
		{"reshape-relu-add-keeps-input", newTestGraph().input("x", -1, 3).output("y", -1, 3).initInt64("flat", -1).initInt64("back", -1, 3).
			node("Reshape", []string{"x", "flat"}, []string{"f"}).node("Relu", []string{"f"}, []string{"r"}).
			node("Reshape", []string{"r", "back"}, []string{"r2"}).node("Add", []string{"r2", "x"}, []string{"y"}),
			[]backends.Tensor{fp32("x", []int64{2, 3}, -1, 2, -3, 4, -5, 6)}, []int64{2, 3}, []float32{-1, 4, -3, 8, -5, 12}},
		{"flatten-axis-2", newTestGraph().input("x", -1, 2, 3).output("y", -1, 3).node("Flatten", []string{"x"}, []string{"y"}, aInt("axis", 2)),
			[]backends.Tensor{x3}, []int64{4, 3}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{"flatten-axis-0", newTestGraph().input("x", -1, 3).output("y", 1, -1).node("Flatten", []string{"x"}, []string{"y"}, aInt("axis", 0)),
			[]backends.Tensor{x}, []int64{1, 6}, []float32{1, 2, 3, 4, 5, 6}},
	} {
		t.Run(c.name, c.check)
	}
}
