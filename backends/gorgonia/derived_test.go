package gorgonia

import (
	"slices"
	"testing"

	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

// TestDerivedPerShape checks that what the program caches across graphs
// (here ConstantOfShape's fill) is not taken from the first graph when it
// depends on the input shapes: ConstantOfShape(Shape(x)) follows the batch.
func TestDerivedPerShape(t *testing.T) {
	ones := &onnxpb.AttributeProto{Name: "value", Type: onnxpb.AttributeProto_TENSOR,
		T: &onnxpb.TensorProto{DataType: int32(onnxpb.TensorProto_FLOAT), Dims: []int64{1}, FloatData: []float32{1}}}
	g := newTestGraph().input("x", -1, 2).output("y", -1, 2).
		node("Shape", []string{"x"}, []string{"s"}).node("ConstantOfShape", []string{"s"}, []string{"y"}, ones)
	m := load(t, New(Options{Logger: quiet}), "cos", g.bytes(t))
	for _, batch := range []int64{1, 3, 1} {
		out := run(t, m, fp32("x", []int64{batch, 2}, make([]float32, 2*batch)...))
		if !slices.Equal(out[0].Shape, []int64{batch, 2}) {
			t.Fatalf("batch %d: output of shape %v", batch, out[0].Shape)
		}
		want := make([]float32, 2*batch)
		for i := range want {
			want[i] = 1
		}
		checkClose(t, "ConstantOfShape(Shape(x))", bytesF32(out[0].Data), want, 0)
	}
}
