package gorgonia

import (
	"fmt"
	"slices"

	gg "gorgonia.org/gorgonia"

	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

// buildReshape: the target shape is a constant (the second input, or the
// "shape" attribute before opset 5); 0 copies the input's axis (unless
// allowzero), and one -1 takes what is left.
func buildReshape(c *nodeCtx) (*value, error) {
	x, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	var spec []int64
	if c.p.opset < 5 && c.attrs.has("shape") {
		ints, err := c.attrs.ints("shape", nil)
		if err != nil {
			return nil, err
		}
		for _, v := range ints {
			spec = append(spec, int64(v))
		}
	} else {
		k, ok := c.konst(1)
		if !ok {
			return nil, fmt.Errorf("the shape input must be a constant (an initializer or a Constant node)")
		}
		if spec, err = k.ints("shape"); err != nil {
			return nil, err
		}
	}
	allowZero, err := c.attrs.int("allowzero", 0)
	if err != nil {
		return nil, err
	}
	shape, err := reshapeTarget(x.shape(), spec, allowZero != 0)
	if err != nil {
		return nil, err
	}
	return reshapeValue(c, x, shape)
}

// reshapeTarget resolves an ONNX Reshape shape against the input shape in.
func reshapeTarget(in []int, spec []int64, allowZero bool) ([]int, error) {
	out := make([]int, len(spec))
	infer := -1
	for i, d := range spec {
		switch {
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, fmt.Errorf("shape %v copies axis %d of an input of rank %d", spec, i, len(in))
			}
			out[i] = in[i]
		case d == -1 && infer < 0:
			infer = i
		case d <= 0:
			return nil, fmt.Errorf("shape %v is not supported (empty axes, or more than one -1)", spec)
		default:
			out[i] = int(d)
		}
	}
	total := numElems(in)
	if infer >= 0 {
		out[infer] = 1
		rest := numElems(out)
		if rest == 0 || total%rest != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", in, spec)
		}
		out[infer] = total / rest
	}
	if numElems(out) != total {
		return nil, fmt.Errorf("cannot reshape %v to %v", in, spec)
	}
	return out, nil
}

// reshapeValue gives x the shape: a new constant sharing the data for a
// constant, a copying reshape in the graph otherwise.
func reshapeValue(c *nodeCtx, x *value, shape []int) (*value, error) {
	if x.konst != nil {
		k := *x.konst
		k.shape, k.fixed = shape, false // fixed again only if the shape is (buildNode)
		return &value{konst: &k}, nil
	}
	return nodeValue(reshapeNode(x.node, shape))
}

// buildFlatten reshapes to 2-D: the axes before axis, and the rest.
func buildFlatten(c *nodeCtx) (*value, error) {
	x, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	a, err := c.attrs.int("axis", 1)
	if err != nil {
		return nil, err
	}
	shape := x.shape()
	axis := int(a)
	if axis < 0 {
		axis += len(shape)
	}
	if axis < 0 || axis > len(shape) {
		return nil, fmt.Errorf("axis %d is out of range for rank %d", a, len(shape))
	}
	return reshapeValue(c, x, []int{numElems(shape[:axis]), numElems(shape[axis:])})
}

// buildTranspose: gorgonia's Transpose, or a permuted copy at build time for
// a constant. perm defaults to reversing the axes.
func buildTranspose(c *nodeCtx) (*value, error) {
	x, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	shape := x.shape()
	rank := len(shape)
	rev := make([]int, rank)
	for i := range rev {
		rev[i] = rank - 1 - i
	}
	perm, err := c.attrs.ints("perm", rev)
	if err != nil {
		return nil, err
	}
	if len(perm) != rank || !isPermutation(perm) {
		return nil, fmt.Errorf("perm %v is not a permutation of the %d axes", perm, rank)
	}
	if slices.IsSorted(perm) {
		return x, nil
	}
	out := make([]int, rank)
	for i, p := range perm {
		out[i] = shape[p]
	}
	if k := x.konst; k != nil {
		t := &constTensor{shape: out, isInt: k.isInt}
		if k.isInt {
			t.i64 = transposeData(k.i64, shape, perm)
		} else {
			t.f32 = transposeData(k.f32, shape, perm)
		}
		return &value{konst: t}, nil
	}
	return nodeValue(gg.Transpose(x.node, perm...))
}

func isPermutation(perm []int) bool {
	seen := make([]bool, len(perm))
	for _, p := range perm {
		if p < 0 || p >= len(perm) || seen[p] {
			return false
		}
		seen[p] = true
	}
	return true
}

// buildConcat joins its inputs along axis, copying whole blocks (a custom
// kernel: gorgonia's Concat copies element by element through iterators);
// constant inputs (shape arithmetic) fold.
func buildConcat(c *nodeCtx) (*value, error) {
	a, err := c.attrs.int("axis", 0)
	if err != nil {
		return nil, err
	}
	if !c.attrs.has("axis") {
		return nil, fmt.Errorf("the axis attribute is required")
	}
	var vals []*value
	for i := range c.in {
		v, err := c.arg(i)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	if len(vals) == 0 {
		return nil, fmt.Errorf("no inputs")
	}
	shapes := make([][]int, len(vals))
	for i, v := range vals {
		shapes[i] = v.shape()
	}
	axis, err := normAxis(int(a), len(shapes[0]))
	if err != nil {
		return nil, err
	}
	return c.concat(vals, shapes, axis)
}

// concat joins vals along axis, which counts in shapes: the vals' shapes,
// or (ConcatFromSequence's new_axis) those with an axis of 1 inserted, which
// lay the data out the same way.
func (c *nodeCtx) concat(vals []*value, shapes [][]int, axis int) (*value, error) {
	s0 := shapes[0]
	out := slices.Clone(s0)
	out[axis] = 0
	inner := numElems(s0[axis+1:])
	blocks := make([]int, len(vals)) // elements each input adds per outer step
	for i, v := range vals {
		s := shapes[i]
		if len(s) != len(s0) || !slices.Equal(s0[:axis], s[:axis]) || !slices.Equal(s0[axis+1:], s[axis+1:]) {
			return nil, fmt.Errorf("shapes %v and %v cannot be joined along axis %d", s0, s, axis)
		}
		if v.konst != nil && v.konst.isInt != vals[0].konst.isIntOr(false) {
			return nil, fmt.Errorf("inputs mix integer and float constants")
		}
		out[axis] += s[axis]
		blocks[i] = s[axis] * inner
	}
	if len(vals) == 1 {
		if slices.Equal(vals[0].shape(), s0) {
			return vals[0], nil
		}
		return reshapeValue(c, vals[0], s0)
	}
	outer := numElems(s0[:axis])
	return c.compute(out, func(o []float32, ins [][]float32) {
		off := 0
		for r := range outer {
			for i, in := range ins {
				off += copy(o[off:], in[r*blocks[i]:(r+1)*blocks[i]])
			}
		}
	}, vals...)
}

// passThrough is Identity: the output is the input value itself.
func passThrough(c *nodeCtx) (*value, error) { return c.arg(0) }

// buildDropout is the identity at inference. A constant true training_mode
// is refused; the mask output, when asked for, is a constant of ones (every
// element kept).
func buildDropout(c *nodeCtx) (*value, error) {
	if k, ok := c.konst(2); ok {
		if (k.isInt && len(k.i64) > 0 && k.i64[0] != 0) || (!k.isInt && len(k.f32) > 0 && k.f32[0] != 0) {
			return nil, fmt.Errorf("training_mode is true; the gorgonia backend runs inference only")
		}
	} else if c.opt(2) != nil {
		return nil, fmt.Errorf("training_mode must be a constant")
	}
	x, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	if outs := c.proto.GetOutput(); len(outs) > 1 && outs[1] != "" {
		mask := &constTensor{shape: x.shape(), isInt: true, i64: make([]int64, numElems(x.shape()))}
		for i := range mask.i64 {
			mask.i64[i] = 1
		}
		c.more = []*value{{konst: mask}}
	}
	return x, nil
}

// buildConstant decodes the value, value_float(s) or value_int(s) attribute.
func buildConstant(c *nodeCtx) (*value, error) {
	for _, at := range c.proto.GetAttribute() {
		switch at.GetName() {
		case "value":
			if at.GetType() != onnxpb.AttributeProto_TENSOR {
				return nil, fmt.Errorf("attribute value has type %s", at.GetType())
			}
			k, err := decodeTensor(at.GetT())
			if err != nil {
				return nil, err
			}
			return &value{konst: k}, nil
		case "value_float":
			return &value{konst: &constTensor{f32: []float32{at.GetF()}}}, nil
		case "value_floats":
			return &value{konst: &constTensor{shape: []int{len(at.GetFloats())}, f32: at.GetFloats()}}, nil
		case "value_int":
			return &value{konst: &constTensor{isInt: true, i64: []int64{at.GetI()}}}, nil
		case "value_ints":
			return &value{konst: &constTensor{shape: []int{len(at.GetInts())}, isInt: true, i64: at.GetInts()}}, nil
		}
	}
	return nil, fmt.Errorf("no supported value attribute (value, value_float(s) or value_int(s))")
}
