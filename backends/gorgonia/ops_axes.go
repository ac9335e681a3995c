package gorgonia

import (
	"fmt"
	"slices"

	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

// intList reads an integer list that ONNX moved from an attribute to an
// input: the attribute name before opset since, else the constant input i.
// ok is false when it is absent.
func (c *nodeCtx) intList(name string, i int, since int64) (vals []int, ok bool, err error) {
	if c.p.opset < since || c.attrs.has(name) {
		if !c.attrs.has(name) {
			return nil, false, nil
		}
		v, err := c.attrs.ints(name, nil)
		return v, true, err
	}
	if c.opt(i) == nil {
		return nil, false, nil
	}
	k, isConst := c.konst(i)
	if !isConst {
		return nil, false, fmt.Errorf("input %d (%s) must be a constant", i, name)
	}
	raw, err := k.ints(name)
	if err != nil {
		return nil, false, err
	}
	out := make([]int, len(raw))
	for j, v := range raw {
		out[j] = int(v)
	}
	return out, true, nil
}

// normAxes normalises axes against rank and refuses duplicates.
func normAxes(axes []int, rank int) ([]int, error) {
	out := make([]int, len(axes))
	for i, a := range axes {
		n, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out[:i], n) {
			return nil, fmt.Errorf("axes %v repeat an axis", axes)
		}
		out[i] = n
	}
	return out, nil
}

// buildConstantOfShape: a build-time constant of the shape given by the
// (constant) input, filled with the value attribute (float 0 by default).
// The light model-zoo CNNs make every weight this way.
func buildConstantOfShape(c *nodeCtx) (*value, error) {
	k, ok := c.konst(0)
	if !ok {
		return nil, fmt.Errorf("the shape input must be a constant")
	}
	dims, err := k.ints("shape")
	if err != nil {
		return nil, err
	}
	shape := make([]int, len(dims))
	for i, d := range dims {
		if d < 0 || d > 1<<31 {
			return nil, fmt.Errorf("shape %v has an invalid axis", dims)
		}
		shape[i] = int(d)
	}
	fill := &constTensor{f32: []float32{0}}
	if at, err := c.attrs.check("value", onnxpb.AttributeProto_TENSOR); err != nil {
		return nil, err
	} else if at != nil {
		if fill, err = decodeTensor(at.GetT()); err != nil {
			return nil, err
		}
		if fill.size() != 1 {
			return nil, fmt.Errorf("value must hold one element, holds %d", fill.size())
		}
	}
	d, err := c.derived("fill", func() (*constTensor, error) {
		n := numElems(shape)
		t := &constTensor{shape: shape, isInt: fill.isInt}
		if fill.isInt {
			t.i64 = make([]int64, n)
			for i := range t.i64 {
				t.i64[i] = fill.i64[0]
			}
			return t, nil
		}
		t.f32 = make([]float32, n)
		if v := fill.f32[0]; v != 0 {
			for i := range t.f32 {
				t.f32[i] = v
			}
		}
		return t, nil
	}, k)
	if err != nil {
		return nil, err
	}
	return &value{konst: d}, nil
}

// buildUnsqueeze inserts axes of size 1: axes is an attribute before opset
// 13, an input from 13, and counts in the output's rank.
func buildUnsqueeze(c *nodeCtx) (*value, error) {
	x, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	axes, ok, err := c.intList("axes", 1, 13)
	if err != nil || !ok {
		return nil, fmtErr(err, "axes are required")
	}
	in := x.shape()
	rank := len(in) + len(axes)
	if axes, err = normAxes(axes, rank); err != nil {
		return nil, err
	}
	out := make([]int, 0, rank)
	j := 0
	for i := range rank {
		if slices.Contains(axes, i) {
			out = append(out, 1)
			continue
		}
		out = append(out, in[j])
		j++
	}
	return reshapeValue(c, x, out)
}

// buildSqueeze removes axes of size 1: the given ones (an attribute before
// opset 13, an input from 13), or every one when none are given.
func buildSqueeze(c *nodeCtx) (*value, error) {
	x, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	in := x.shape()
	axes, ok, err := c.intList("axes", 1, 13)
	if err != nil {
		return nil, err
	}
	if axes, err = normAxes(axes, len(in)); err != nil {
		return nil, err
	}
	var out []int
	for i, d := range in {
		drop := (!ok && d == 1) || slices.Contains(axes, i)
		if drop && d != 1 {
			return nil, fmt.Errorf("axis %d of shape %v is not 1", i, in)
		}
		if !drop {
			out = append(out, d)
		}
	}
	return reshapeValue(c, x, out)
}

// buildShape is a build-time constant: the input's shape (start and end
// from opset 15).
func buildShape(c *nodeCtx) (*value, error) {
	x, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	s := x.shape()
	start, err := c.attrs.int("start", 0)
	if err != nil {
		return nil, err
	}
	end, err := c.attrs.int("end", int64(len(s)))
	if err != nil {
		return nil, err
	}
	lo, hi := clampIndex(int(start), len(s)), clampIndex(int(end), len(s))
	t := &constTensor{shape: []int{max(0, hi-lo)}, isInt: true}
	for _, d := range s[lo:max(lo, hi)] {
		t.i64 = append(t.i64, int64(d))
	}
	return &value{konst: t}, nil
}

// clampIndex maps i, which may count from the end, into [0, n].
func clampIndex(i, n int) int {
	if i < 0 {
		i += n
	}
	return min(max(i, 0), n)
}

// strides returns the row-major strides of shape.
func strides(shape []int) []int {
	s := make([]int, len(shape))
	step := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = step
		step *= shape[i]
	}
	return s
}

// gatherIndex maps every element of an output of shape out to the input
// element it copies, by src (which gets the output index, and returns the
// input offset, or -1 for a fill value).
func gatherIndex(out []int, src func(idx []int) int) []int {
	n := numElems(out)
	m := make([]int, n)
	idx := make([]int, len(out))
	for o := range n {
		m[o] = src(idx)
		for d := len(out) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < out[d] {
				break
			}
			idx[d] = 0
		}
	}
	return m
}

// mapped is the kernel that copies input elements by a precomputed index
// (-1 gives fill).
func mapped(m []int, fill float32) kernelFunc {
	return func(out []float32, ins [][]float32) {
		for o, i := range m {
			if i < 0 {
				out[o] = fill
			} else {
				out[o] = ins[0][i]
			}
		}
	}
}
