package gorgonia

import (
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

// seqInputs are three [1,2] tensors a, b and c that tell each other apart.
func seqInputs(g *testGraph) *testGraph { return g.input("a", 1, 2).input("b", 1, 2).input("c", 1, 2) }

var abc = []backends.Tensor{fp32("a", []int64{1, 2}, 1, 2), fp32("b", []int64{1, 2}, 3, 4), fp32("c", []int64{1, 2}, 5, 6)}

// with appends more inputs to abc.
func with(more ...backends.Tensor) []backends.Tensor {
	return append(append([]backends.Tensor(nil), abc...), more...)
}

// TestSequenceInsertAt builds [a, c, b] from an empty sequence (b appended,
// then c inserted at the position input) and picks elements by a position
// input, from either end.
func TestSequenceInsertAt(t *testing.T) {
	g := seqInputs(newTestGraph()).typedInput("ins", tInt64).typedInput("at", tInt64).output("y", 1, 2).
		node("SequenceEmpty", nil, []string{"s0"}).
		node("SequenceInsert", []string{"s0", "a"}, []string{"s1"}).
		node("SequenceInsert", []string{"s1", "b"}, []string{"s2"}).
		node("SequenceInsert", []string{"s2", "c", "ins"}, []string{"s3"}).
		node("SequenceAt", []string{"s3", "at"}, []string{"y"})
	g.opset = 12
	m := load(t, New(Options{Logger: quiet}), "insert", g.bytes(t))
	for _, c := range []struct {
		ins, at int64
		want    []float32
	}{
		{1, 0, []float32{1, 2}}, {1, 1, []float32{5, 6}}, {1, 2, []float32{3, 4}}, {1, -1, []float32{3, 4}}, {1, -3, []float32{1, 2}},
		{-1, 1, []float32{5, 6}}, {2, -1, []float32{5, 6}}, {0, 0, []float32{5, 6}},
	} {
		out := run(t, m, with(int64s("ins", nil, c.ins), int64s("at", nil, c.at))...)
		wantFloats(t, "SequenceAt", out[0], []int64{1, 2}, c.want...)
	}
	err := runErr(t, m, with(int64s("ins", nil, 1), int64s("at", nil, 3))...)
	wantErr(t, err, `node 4 ("SequenceAt_node"): SequenceAt: position 3 is out of range for a sequence of 3 elements`)
	err = runErr(t, m, with(int64s("ins", nil, 4), int64s("at", nil, 0))...)
	wantErr(t, err, `SequenceInsert: position 4 is out of range for a sequence of 2 elements`)
}

// TestSequenceEraseLength erases from [a, b, c] (the last by default, or
// at a position) and returns an element and the length.
func TestSequenceEraseLength(t *testing.T) {
	g := seqInputs(newTestGraph()).typedInput("pos", tInt64).output("y", 1, 2).typedOutput("n", tInt64).
		node("SequenceConstruct", []string{"a", "b", "c"}, []string{"s"}).
		node("SequenceErase", []string{"s"}, []string{"s1"}).
		node("SequenceErase", []string{"s1", "pos"}, []string{"s2"}).
		node("SequenceAt", []string{"s2", "zero"}, []string{"y"}).
		node("SequenceLength", []string{"s2"}, []string{"n"})
	g.g.Initializer = append(g.g.Initializer, int64Scalar("zero", 0))
	m := load(t, New(Options{Logger: quiet}), "erase", g.bytes(t))
	for _, c := range []struct {
		pos  int64
		want []float32
	}{{0, []float32{3, 4}}, {1, []float32{1, 2}}, {-2, []float32{3, 4}}} {
		out := run(t, m, with(int64s("pos", nil, c.pos))...)
		wantFloats(t, "SequenceAt", out[0], []int64{1, 2}, c.want...)
		wantInts(t, "SequenceLength", out[1], backends.Int64, nil, 1)
	}
}

// TestSplitToSequence splits x ([2,3], 1..6) every way SplitToSequence
// can, and joins the parts back with ConcatFromSequence.
func TestSplitToSequence(t *testing.T) {
	x := []backends.Tensor{fp32("x", []int64{2, 3}, 1, 2, 3, 4, 5, 6)}
	split := func(out []int64) *testGraph {
		g := newTestGraph().input("x", 2, 3).output("y", out...)
		g.opset = 12
		return g
	}
	for _, c := range []struct {
		name  string
		graph *testGraph
		shape []int64
		want  []float32
	}{
		{"ones-keepdims-at", split([]int64{2, 1}).
			node("SplitToSequence", []string{"x"}, []string{"s"}, aInt("axis", 1)).
			node("SequenceAt", []string{"s", "last"}, []string{"y"}),
			[]int64{2, 1}, []float32{3, 6}},
		{"scalar-split", split([]int64{2, 1}).
			node("SplitToSequence", []string{"x", "two"}, []string{"s"}, aInt("axis", -1)).
			node("SequenceAt", []string{"s", "last"}, []string{"y"}),
			[]int64{2, 1}, []float32{3, 6}},
		{"vector-split-keepdims-ignored", split([]int64{2, 2}).initInt64("sizes", 1, 2).
			node("SplitToSequence", []string{"x", "sizes"}, []string{"s"}, aInt("axis", 1), aInt("keepdims", 0)).
			node("SequenceAt", []string{"s", "last"}, []string{"y"}),
			[]int64{2, 2}, []float32{2, 3, 5, 6}},
		{"no-keepdims-stack-is-transpose", split([]int64{3, 2}).
			node("SplitToSequence", []string{"x"}, []string{"s"}, aInt("axis", 1), aInt("keepdims", 0)).
			node("ConcatFromSequence", []string{"s"}, []string{"y"}, aInt("axis", 0), aInt("new_axis", 1)),
			[]int64{3, 2}, []float32{1, 4, 2, 5, 3, 6}},
		{"stack-at-the-end", split([]int64{2, 3}).
			node("SplitToSequence", []string{"x"}, []string{"s"}, aInt("axis", 1), aInt("keepdims", 0)).
			node("ConcatFromSequence", []string{"s"}, []string{"y"}, aInt("axis", -1), aInt("new_axis", 1)),
			[]int64{2, 3}, []float32{1, 2, 3, 4, 5, 6}},
		{"concat-back", split([]int64{2, 3}).
			node("SplitToSequence", []string{"x", "two"}, []string{"s"}, aInt("axis", 1)).
			node("ConcatFromSequence", []string{"s"}, []string{"y"}, aInt("axis", 1)),
			[]int64{2, 3}, []float32{1, 2, 3, 4, 5, 6}},
		{"concat-rows", split([]int64{1, 6}).
			node("SplitToSequence", []string{"x"}, []string{"s"}).
			node("ConcatFromSequence", []string{"s"}, []string{"y"}, aInt("axis", 1)),
			[]int64{1, 6}, []float32{1, 2, 3, 4, 5, 6}},
	} {
		c.graph.g.Initializer = append(c.graph.g.Initializer, int64Scalar("last", -1), int64Scalar("two", 2))
		opCase{c.name, c.graph, x, c.shape, c.want}.check(t)
	}
}

// TestSplitToSequenceEmpty is ONNX's test_sequence_model8: an empty x split
// into three empty parts by an INT64 input, and the sequence's length.
func TestSplitToSequenceEmpty(t *testing.T) {
	g := newTestGraph().input("x", -1).typedInput("splits", tInt64, 3).typedOutput("n", tInt64).
		node("SplitToSequence", []string{"x", "splits"}, []string{"s"}).node("SequenceLength", []string{"s"}, []string{"n"})
	g.opset = 12
	m := load(t, New(Options{Logger: quiet}), "seq8", g.bytes(t))
	wantInts(t, "empty x", run(t, m, fp32("x", []int64{0}), int64s("splits", []int64{3}, 0, 0, 0))[0], backends.Int64, nil, 3)
	wantInts(t, "x of 5", run(t, m, fp32("x", []int64{5}, 1, 2, 3, 4, 5), int64s("splits", []int64{3}, 2, 0, 3))[0], backends.Int64, nil, 3)
	err := runErr(t, m, fp32("x", []int64{5}, 1, 2, 3, 4, 5), int64s("splits", []int64{3}, 2, 2, 2))
	wantErr(t, err, `SplitToSequence: split [2 2 2] does not add up to axis 0 of [5]`)
}

// TestSequenceRefusals: positions computed at run time, sequences where a
// tensor goes and tensors where a sequence goes are refused, naming the
// model, the node and the op.
func TestSequenceRefusals(t *testing.T) {
	seq3 := func() *testGraph {
		g := seqInputs(newTestGraph()).output("y", 1, 2).node("SequenceConstruct", []string{"a", "b", "c"}, []string{"s"})
		g.opset = 12
		return g
	}
	mustFail(t, "m", seq3().input("p", 1).node("SequenceAt", []string{"s", "p"}, []string{"y"}).bytes(t),
		`model "m": node 1 ("SequenceAt_node"): SequenceAt: position (input 1) must be a constant`)
	mustFail(t, "m", seq3().node("Relu", []string{"s"}, []string{"y"}).bytes(t),
		`model "m": node 1 ("Relu_node"): Relu: input "s" is a sequence, where the op takes a tensor`)
	mustFail(t, "m", seq3().node("SequenceLength", []string{"a"}, []string{"y"}).bytes(t),
		`node 1 ("SequenceLength_node"): SequenceLength: input "a" is a tensor, where the op takes a sequence`)
	mustFail(t, "m", seq3().node("Identity", []string{"s"}, []string{"y"}).bytes(t),
		`model "m": output "y" is a sequence`)
	mustFail(t, "m", seq3().node("ConcatFromSequence", []string{"s"}, []string{"y"}, aInt("axis", 3), aInt("new_axis", 1)).bytes(t),
		`ConcatFromSequence: axis 3 is out of range for rank 3`)
	g := newTestGraph().input("v", 3).output("y", 1).initInt64("zero", 0).
		node("SplitToSequence", []string{"v"}, []string{"s"}, aInt("keepdims", 0)).node("SequenceAt", []string{"s", "zero"}, []string{"y"})
	g.opset = 12
	mustFail(t, "m", g.bytes(t), `node 0 ("SplitToSequence_node"): SplitToSequence: the parts of [3] would be scalars, which the gorgonia backend computes at build time only`)
}

// int64Scalar is an INT64 scalar initializer.
func int64Scalar(name string, v int64) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: name, DataType: int32(onnxpb.TensorProto_INT64), Int64Data: []int64{v}}
}
