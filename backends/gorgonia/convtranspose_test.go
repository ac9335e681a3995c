package gorgonia

import (
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

// naiveConvTranspose1D scatters every input value times every tap into the
// full output (stride·(in-1) + kernel wide), channel by channel within each
// group, then keeps width values from begin.
func naiveConvTranspose1D(x, w, bias []float32, c, in, mg, groups, kernel, stride, begin, width int) []float32 {
	full := stride*(in-1) + kernel
	m := mg * groups
	out := make([]float32, m*width)
	cg := c / groups
	for g := range groups {
		for ci := range cg {
			ch := g*cg + ci
			for mo := range mg {
				y := make([]float32, full)
				for i := range in {
					for k := range kernel {
						y[i*stride+k] += x[ch*in+i] * w[(ch*mg+mo)*kernel+k]
					}
				}
				for o := range width {
					out[(g*mg+mo)*width+o] += y[begin+o]
				}
			}
		}
	}
	for mo := range m {
		for o := range width {
			out[mo*width+o] += bias[mo]
		}
	}
	return out
}

// TestConvTransposeOutputShape checks where ConvTranspose cuts the odd pad
// when the output size is asked for: at the start for output_shape (and
// SAME_LOWER), at the end for SAME_UPPER, as the ONNX spec says; with
// groups and a bias. (ONNX's test data only has explicit pads.)
func TestConvTransposeOutputShape(t *testing.T) {
	x := normals(4*3, 1)
	w := normals(4*1*3, 2)
	bias := []float32{0.5, -1}
	for _, tc := range []struct {
		name  string
		attr  *onnxpb.AttributeProto
		begin int
	}{
		{"output_shape", aInts("output_shape", 6), 1},
		{"same_lower", aStr("auto_pad", "SAME_LOWER"), 1},
		{"same_upper", aStr("auto_pad", "SAME_UPPER"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGraph().input("x", 1, 4, 3).output("y", 1, 2, 6).
				init("w", []int64{4, 1, 3}, w...).init("b", []int64{2}, bias...).
				node("ConvTranspose", []string{"x", "w", "b"}, []string{"y"}, aInt("group", 2), aInts("strides", 2), tc.attr)
			opCase{
				name: "convtranspose-" + tc.name, graph: g,
				inputs: []backends.Tensor{fp32("x", []int64{1, 4, 3}, x...)},
				shape:  []int64{1, 2, 6},
				want:   naiveConvTranspose1D(x, w, bias, 4, 3, 1, 2, 3, 2, tc.begin, 6),
			}.check(t)
		})
	}
}
