package gorgonia

import (
	"fmt"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

// seq is 1..n, times sign.
func seq(n int, sign float32) []float32 {
	vs := make([]float32, n)
	for i := range vs {
		vs[i] = sign * float32(i+1)
	}
	return vs
}

// poolCase pools x (1x1xHxW, values 1..H*W times sign) with op and attrs.
func poolCase(name, op string, h, w int64, sign float32, out []int64, want []float32, attrs ...*onnxpb.AttributeProto) opCase {
	return opCase{
		name:   name,
		graph:  newTestGraph().input("x", -1, 1, h, w).output("y", -1, 1, out[0], out[1]).node(op, []string{"x"}, []string{"y"}, attrs...),
		inputs: []backends.Tensor{fp32("x", []int64{1, 1, h, w}, seq(int(h*w), sign)...)},
		shape:  []int64{1, 1, out[0], out[1]},
		want:   want,
	}
}

func TestPools(t *testing.T) {
	k := func(n int64) *onnxpb.AttributeProto { return aInts("kernel_shape", n, n) }
	s := func(n int64) *onnxpb.AttributeProto { return aInts("strides", n, n) }
	pad1 := aInts("pads", 1, 1, 1, 1)
	for _, c := range []opCase{
		poolCase("avg-2x2", "AveragePool", 4, 4, 1, []int64{2, 2}, []float32{3.5, 5.5, 11.5, 13.5}, k(2), s(2)),
		poolCase("avg-pads-exclude", "AveragePool", 3, 3, 1, []int64{3, 3},
			[]float32{3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7}, k(3), pad1),
		poolCase("avg-pads-include", "AveragePool", 3, 3, 1, []int64{3, 3},
			[]float32{12.0 / 9, 21.0 / 9, 16.0 / 9, 3, 5, 33.0 / 9, 24.0 / 9, 39.0 / 9, 28.0 / 9}, k(3), pad1, aInt("count_include_pad", 1)),
		poolCase("avg-ceil", "AveragePool", 3, 3, 1, []int64{2, 2}, []float32{3, 4.5, 7.5, 9}, k(2), s(2), aInt("ceil_mode", 1)),
		poolCase("max-2x2-native", "MaxPool", 4, 4, 1, []int64{2, 2}, []float32{6, 8, 14, 16}, k(2), s(2)),
		poolCase("max-pads-native", "MaxPool", 3, 3, -1, []int64{3, 3},
			[]float32{-1, -1, -2, -1, -1, -2, -4, -4, -5}, k(3), pad1),
		poolCase("max-asymmetric-pads", "MaxPool", 3, 3, 1, []int64{2, 2}, []float32{5, 6, 8, 9}, k(2), s(2), aInts("pads", 0, 0, 1, 1)),
		poolCase("max-ceil", "MaxPool", 3, 3, 1, []int64{2, 2}, []float32{5, 6, 8, 9}, k(2), s(2), aInt("ceil_mode", 1)),
		poolCase("max-dilated", "MaxPool", 4, 4, 1, []int64{2, 2}, []float32{11, 12, 15, 16}, k(2), aInts("dilations", 2, 2)),
		poolCase("max-same-upper", "MaxPool", 3, 3, 1, []int64{2, 2}, []float32{5, 6, 8, 9}, k(2), s(2), aStr("auto_pad", "SAME_UPPER")),
	} {
		t.Run(c.name, c.check)
	}
}

func TestGlobalAveragePool(t *testing.T) {
	for _, c := range []opCase{
		{"4d", newTestGraph().input("x", -1, 2, 2, 2).output("y", -1, 2, 1, 1).node("GlobalAveragePool", []string{"x"}, []string{"y"}),
			[]backends.Tensor{fp32("x", []int64{1, 2, 2, 2}, seq(8, 1)...)}, []int64{1, 2, 1, 1}, []float32{2.5, 6.5}},
		{"3d", newTestGraph().input("x", -1, 2, 3).output("y", -1, 2, 1).node("GlobalAveragePool", []string{"x"}, []string{"y"}),
			[]backends.Tensor{fp32("x", []int64{1, 2, 3}, seq(6, 1)...)}, []int64{1, 2, 1}, []float32{2, 5}},
	} {
		t.Run(c.name, c.check)
	}
}

func TestBatchNormalization(t *testing.T) {
	g := newTestGraph().input("x", -1, 2, 1, 2).output("y", -1, 2, 1, 2).
		init("scale", []int64{2}, 2, 1).init("b", []int64{2}, 0.5, -1).
		init("mean", []int64{2}, 1, 2).init("var", []int64{2}, 4, 0.25).
		node("BatchNormalization", []string{"x", "scale", "b", "mean", "var"}, []string{"y"}, aFloat("epsilon", 0))
	opCase{"batchnorm", g, []backends.Tensor{fp32("x", []int64{1, 2, 1, 2}, 1, 2, 3, 4)},
		[]int64{1, 2, 1, 2}, []float32{0.5, 1.5, 1, 3}}.check(t)
}

func TestGemm(t *testing.T) {
	for _, c := range []opCase{
		{"transB-alpha-beta", newTestGraph().input("a", -1, 3).output("y", -1, 2).
			init("b", []int64{2, 3}, 1, 0, 1, 0, 1, 1).init("c", []int64{2}, 1, 2).
			node("Gemm", []string{"a", "b", "c"}, []string{"y"}, aInt("transB", 1), aFloat("alpha", 2), aFloat("beta", 0.5)),
			[]backends.Tensor{fp32("a", []int64{2, 3}, 1, 2, 3, 4, 5, 6)}, []int64{2, 2}, []float32{8.5, 11, 20.5, 23}},
		{"transA-matrix-bias", newTestGraph().input("a", 3, 2).output("y", 2, 1).
			init("b", []int64{3, 1}, 1, 1, 1).init("c", []int64{2, 1}, 1, 2).
			node("Gemm", []string{"a", "b", "c"}, []string{"y"}, aInt("transA", 1)),
			[]backends.Tensor{fp32("a", []int64{3, 2}, 1, 2, 3, 4, 5, 6)}, []int64{2, 1}, []float32{10, 14}},
		{"graph-operands", newTestGraph().input("a", -1, 2).input("b", 3, 2).output("y", -1, 3).
			node("Gemm", []string{"a", "b"}, []string{"y"}, aInt("transB", 1), aFloat("alpha", 3)),
			[]backends.Tensor{fp32("a", []int64{1, 2}, 1, 2), fp32("b", []int64{3, 2}, 1, 0, 0, 1, 1, 1)}, []int64{1, 3}, []float32{3, 6, 9}},
	} {
		t.Run(c.name, c.check)
	}
}

func TestMatMul(t *testing.T) {
	for _, c := range []opCase{
		{"3d-by-2d", newTestGraph().input("x", -1, 2, 3).output("y", -1, 2, 1).init("w", []int64{3, 1}, 1, 0, -1).
			node("MatMul", []string{"x", "w"}, []string{"y"}),
			[]backends.Tensor{fp32("x", []int64{2, 2, 3}, seq(12, 1)...)}, []int64{2, 2, 1}, []float32{-2, -2, -2, -2}},
		{"batched", newTestGraph().input("x", -1, 1, 2).input("z", -1, 2, 1).output("y", -1, 1, 1).
			node("MatMul", []string{"x", "z"}, []string{"y"}),
			[]backends.Tensor{fp32("x", []int64{2, 1, 2}, 1, 2, 3, 4), fp32("z", []int64{2, 2, 1}, 1, 1, 2, 2)}, []int64{2, 1, 1}, []float32{3, 14}},
		{"vector-right", newTestGraph().input("x", -1, 3).output("y", -1).init("w", []int64{3}, 1, 1, 1).
			node("MatMul", []string{"x", "w"}, []string{"y"}),
			[]backends.Tensor{fp32("x", []int64{2, 3}, seq(6, 1)...)}, []int64{2}, []float32{6, 15}},
	} {
		t.Run(c.name, c.check)
	}
}

func TestConstant(t *testing.T) {
	tensorAttr := &onnxpb.AttributeProto{Name: "value", Type: onnxpb.AttributeProto_TENSOR, T: &onnxpb.TensorProto{
		DataType: int32(onnxpb.TensorProto_FLOAT), Dims: []int64{3}, FloatData: []float32{1, 2, 3}}}
	floats := &onnxpb.AttributeProto{Name: "value_floats", Type: onnxpb.AttributeProto_FLOATS, Floats: []float32{10, 20, 30}}
	x := fp32("x", []int64{1, 3}, 1, 1, 1)
	for _, c := range []opCase{
		{"tensor", newTestGraph().input("x", -1, 3).output("y", -1, 3).node("Constant", nil, []string{"c"}, tensorAttr).
			node("Add", []string{"x", "c"}, []string{"y"}), []backends.Tensor{x}, []int64{1, 3}, []float32{2, 3, 4}},
		{"value-floats", newTestGraph().input("x", -1, 3).output("y", -1, 3).node("Constant", nil, []string{"c"}, floats).
			node("Mul", []string{"x", "c"}, []string{"y"}), []backends.Tensor{x}, []int64{1, 3}, []float32{10, 20, 30}},
		{"shape-for-reshape", newTestGraph().input("x", -1, 3).output("y", -1, 1).node("Constant", nil, []string{"s"}, aInts("value_ints", -1, 1)).
			node("Reshape", []string{"x", "s"}, []string{"y"}), []backends.Tensor{x}, []int64{3, 1}, []float32{1, 1, 1}},
		{"constant-output", newTestGraph().input("x", -1, 3).output("y", 3).node("Constant", nil, []string{"y"}, tensorAttr),
			[]backends.Tensor{x}, []int64{3}, []float32{1, 2, 3}},
	} {
		t.Run(c.name, c.check)
	}
}

// refConv is ONNX Conv on NCHW, in float64, for checking the backend.
func refConv(x []float32, xs [4]int, w []float32, ws [4]int, bias []float32, pads [4]int, st, dl [2]int) ([]float32, []int64) {
	oh := (xs[2]+pads[0]+pads[2]-dl[0]*(ws[2]-1)-1)/st[0] + 1
	ow := (xs[3]+pads[1]+pads[3]-dl[1]*(ws[3]-1)-1)/st[1] + 1
	out := make([]float32, 0, xs[0]*ws[0]*oh*ow)
	for n := range xs[0] {
		for m := range ws[0] {
			for y := range oh {
				for z := range ow {
					sum := 0.0
					if bias != nil {
						sum = float64(bias[m])
					}
					for c := range xs[1] {
						for ky := range ws[2] {
							for kx := range ws[3] {
								iy, ix := y*st[0]-pads[0]+ky*dl[0], z*st[1]-pads[1]+kx*dl[1]
								if iy < 0 || iy >= xs[2] || ix < 0 || ix >= xs[3] {
									continue
								}
								sum += float64(x[((n*xs[1]+c)*xs[2]+iy)*xs[3]+ix]) * float64(w[((m*ws[1]+c)*ws[2]+ky)*ws[3]+kx])
							}
						}
					}
					out = append(out, float32(sum))
				}
			}
		}
	}
	return out, []int64{int64(xs[0]), int64(ws[0]), int64(oh), int64(ow)}
}

func TestConv(t *testing.T) {
	xs, ws := [4]int{2, 2, 5, 6}, [4]int{3, 2, 3, 2}
	x, w, bias := normals(2*2*5*6, 1), normals(3*2*3*2, 2), normals(3, 3)
	for i, c := range []struct {
		pads   [4]int
		st, dl [2]int
		bias   bool
		attrs  []*onnxpb.AttributeProto
	}{
		{[4]int{1, 1, 1, 1}, [2]int{1, 1}, [2]int{1, 1}, true, []*onnxpb.AttributeProto{aInts("pads", 1, 1, 1, 1)}},
		{[4]int{0, 1, 2, 0}, [2]int{2, 1}, [2]int{2, 1}, true, []*onnxpb.AttributeProto{aInts("pads", 0, 1, 2, 0), aInts("strides", 2, 1), aInts("dilations", 2, 1)}},
		{[4]int{1, 0, 1, 0}, [2]int{2, 2}, [2]int{1, 1}, true, []*onnxpb.AttributeProto{aStr("auto_pad", "SAME_UPPER"), aInts("strides", 2, 2)}},
		{[4]int{}, [2]int{1, 1}, [2]int{1, 1}, false, []*onnxpb.AttributeProto{aStr("auto_pad", "VALID"), aInts("kernel_shape", 3, 2)}},
	} {
		var b []float32
		in := []string{"x", "w"}
		if c.bias {
			b, in = bias, append(in, "b")
		}
		want, shape := refConv(x, xs, w, ws, b, c.pads, c.st, c.dl)
		g := newTestGraph().input("x", -1, 2, 5, 6).output("y", -1, shape[1], shape[2], shape[3]).
			init("w", []int64{3, 2, 3, 2}, w...).init("b", []int64{3}, bias...).node("Conv", in, []string{"y"}, c.attrs...)
		m := load(t, New(Options{Logger: quiet}), fmt.Sprintf("conv-%d", i), g.bytes(t))
		out := run(t, m, fp32("x", []int64{2, 2, 5, 6}, x...))
		if fmt.Sprint(out[0].Shape) != fmt.Sprint(shape) {
			t.Fatalf("case %d: shape %v, want %v", i, out[0].Shape, shape)
		}
		checkClose(t, fmt.Sprintf("case %d", i), bytesF32(out[0].Data), want, 1e-5)
	}
}
