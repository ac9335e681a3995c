package gorgonia

import (
	"fmt"
	"math"
	"slices"
)

// The ops here move elements without arithmetic. Each precomputes, at build
// time, which input element every output element copies (gatherIndex), so
// one kernel (mapped) runs them all, and constants fold.

// buildSlice: starts, ends, axes and steps are attributes before opset 10
// and constant inputs from 10.
func buildSlice(c *nodeCtx) (*value, error) {
	x, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	in := x.shape()
	var lists [4][]int
	for i, name := range []string{"starts", "ends", "axes", "steps"} {
		v, _, err := c.intList(name, i+1, 10)
		if err != nil {
			return nil, err
		}
		lists[i] = v
	}
	starts, ends, axes, steps := lists[0], lists[1], lists[2], lists[3]
	if len(starts) != len(ends) {
		return nil, fmt.Errorf("%d starts and %d ends", len(starts), len(ends))
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, i)
		}
	}
	if axes, err = normAxes(axes, len(in)); err != nil || len(axes) != len(starts) || (steps != nil && len(steps) != len(starts)) {
		return nil, fmtErr(err, "starts, ends, axes and steps differ in length")
	}
	first, step := make([]int, len(in)), make([]int, len(in))
	out := append([]int(nil), in...)
	for i := range step {
		step[i] = 1
	}
	for i, a := range axes {
		st := 1
		if steps != nil {
			st = steps[i]
		}
		if st == 0 {
			return nil, fmt.Errorf("step 0 on axis %d", a)
		}
		d := in[a]
		b, e := starts[i], ends[i]
		if b < 0 {
			b += d
		}
		if e < 0 {
			e += d
		}
		if st > 0 {
			b, e = min(max(b, 0), d), min(max(e, 0), d)
			out[a] = max(0, (e-b+st-1)/st)
		} else {
			b, e = min(max(b, -1), d-1), min(max(e, -1), d-1)
			out[a] = max(0, (b-e-st-1)/(-st))
		}
		first[a], step[a] = b, st
	}
	if numElems(out) == 0 {
		return nil, fmt.Errorf("the slice of %v is empty, which the gorgonia backend does not support", in)
	}
	st := strides(in)
	m := gatherIndex(out, func(idx []int) int {
		off := 0
		for d, i := range idx {
			off += (first[d] + i*step[d]) * st[d]
		}
		return off
	})
	return c.compute(out, mapped(m, 0), x)
}

// buildSplit cuts the input along axis into the node's outputs: sizes from
// the split attribute (before opset 13) or input (from 13), else equal parts
// (num_outputs from opset 18, else one per output).
func buildSplit(c *nodeCtx) (*value, error) {
	x, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	in := x.shape()
	axis, err := c.axisAttr(0, len(in))
	if err != nil {
		return nil, err
	}
	parts := len(c.proto.GetOutput())
	sizes, ok, err := c.intList("split", 1, 13)
	if err != nil {
		return nil, err
	}
	if !ok {
		chunk := (in[axis] + parts - 1) / parts
		for left := in[axis]; left > 0; left -= chunk {
			sizes = append(sizes, min(chunk, left))
		}
	}
	if len(sizes) != parts || numElems(sizes) == 0 {
		return nil, fmt.Errorf("split %v into %d outputs along axis %d of %v", sizes, parts, axis, in)
	}
	total := 0
	for _, s := range sizes {
		if s <= 0 {
			return nil, fmt.Errorf("split %v: empty parts are not supported", sizes)
		}
		total += s
	}
	if total != in[axis] {
		return nil, fmt.Errorf("split %v does not add up to axis %d of %v", sizes, axis, in)
	}
	vals, err := c.splitParts(x, axis, sizes, false)
	if err != nil {
		return nil, err
	}
	c.more = vals[1:]
	return vals[0], nil
}

// splitParts cuts x along axis into consecutive parts of the given sizes:
// each a kernel op that maps its elements (a constant when x is one), and
// an empty part an empty constant. With squeeze, every part (of size 1
// along axis) drops that axis.
func (c *nodeCtx) splitParts(x *value, axis int, sizes []int, squeeze bool) ([]*value, error) {
	in := x.shape()
	st := strides(in)
	var vals []*value
	begin := 0
	for part, s := range sizes {
		c.role = fmt.Sprintf("part%d", part)
		out := slices.Clone(in)
		out[axis] = s
		shape := out
		if squeeze {
			shape = slices.Delete(slices.Clone(out), axis, axis+1)
			if len(shape) == 0 && x.konst == nil {
				return nil, fmt.Errorf("the parts of %v would be scalars, which the gorgonia backend computes at build time only", in)
			}
		}
		if numElems(out) == 0 {
			vals = append(vals, &value{konst: emptyConst(shape, x.konst.isIntOr(false))})
			begin += s
			continue
		}
		b := begin
		m := gatherIndex(out, func(idx []int) int {
			off := b * st[axis]
			for d, i := range idx {
				off += i * st[d]
			}
			return off
		})
		v, err := c.compute(shape, mapped(m, 0), x)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
		begin += s
	}
	return vals, nil
}

// buildPad: pads (begin for each axis, then end; negative crops) and the
// constant value are attributes before opset 11, constant inputs from 11
// (with axes from 18). Modes constant, reflect and edge.
func buildPad(c *nodeCtx) (*value, error) {
	x, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	in := x.shape()
	mode, err := c.attrs.str("mode", "constant")
	if err != nil {
		return nil, err
	}
	pads, ok, err := c.intList("pads", 1, 11)
	if err != nil || !ok {
		return nil, fmtErr(err, "pads are required")
	}
	fill := float32(0)
	if c.p.opset < 11 {
		if fill, err = c.attrs.float("value", 0); err != nil {
			return nil, err
		}
	} else if c.opt(2) != nil {
		k, ok := c.konst(2)
		if !ok || k.isInt || len(k.f32) != 1 {
			return nil, fmt.Errorf("constant_value must be a constant float scalar")
		}
		fill = k.f32[0]
	}
	axes, ok, err := c.intList("axes", 3, 18)
	if err != nil {
		return nil, err
	}
	if !ok {
		for i := range in {
			axes = append(axes, i)
		}
	}
	if axes, err = normAxes(axes, len(in)); err != nil || len(pads) != 2*len(axes) {
		return nil, fmtErr(err, "pads %v: want %d values", pads, 2*len(axes))
	}
	begin, out := make([]int, len(in)), append([]int(nil), in...)
	for i, a := range axes {
		begin[a] = pads[i]
		out[a] += pads[i] + pads[len(axes)+i]
		if out[a] <= 0 {
			return nil, fmt.Errorf("pads %v leave axis %d of %v empty", pads, a, in)
		}
		if mode == "reflect" && (pads[i] >= in[a] || pads[len(axes)+i] >= in[a]) {
			return nil, fmt.Errorf("reflect pads %v must be smaller than axis %d of %v", pads, a, in)
		}
	}
	if mode != "constant" && mode != "reflect" && mode != "edge" {
		return nil, fmt.Errorf("mode %q is not supported", mode)
	}
	st := strides(in)
	m := gatherIndex(out, func(idx []int) int {
		off := 0
		for d, o := range idx {
			i := o - begin[d]
			if i < 0 || i >= in[d] {
				switch mode {
				case "constant":
					return -1
				case "edge":
					i = min(max(i, 0), in[d]-1)
				case "reflect":
					if i < 0 {
						i = -i
					} else {
						i = 2*(in[d]-1) - i
					}
				}
			}
			off += i * st[d]
		}
		return off
	})
	return c.compute(out, mapped(m, fill), x)
}

// buildTile repeats the input along each axis by the constant repeats.
func buildTile(c *nodeCtx) (*value, error) {
	x, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	in := x.shape()
	reps, ok, err := c.intList("repeats", 1, 1)
	if err != nil || !ok || len(reps) != len(in) {
		return nil, fmtErr(err, "repeats must be a constant of %d values", len(in))
	}
	out := make([]int, len(in))
	for i, r := range reps {
		if r < 1 {
			return nil, fmt.Errorf("repeats %v: values must be positive", reps)
		}
		out[i] = in[i] * r
	}
	st := strides(in)
	m := gatherIndex(out, func(idx []int) int {
		off := 0
		for d, o := range idx {
			off += (o % in[d]) * st[d]
		}
		return off
	})
	return c.compute(out, mapped(m, 0), x)
}

// buildExpand broadcasts the input to the constant shape (numpy rules, in
// both directions).
func buildExpand(c *nodeCtx) (*value, error) {
	x, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	target, ok, err := c.intList("shape", 1, 1)
	if err != nil || !ok {
		return nil, fmtErr(err, "shape must be a constant")
	}
	in := x.shape()
	out, err := broadcastShape(in, target)
	if err != nil {
		return nil, err
	}
	sb := broadcastStrides(in, out)
	m := gatherIndex(out, func(idx []int) int {
		off := 0
		for d, o := range idx {
			off += o * sb[d]
		}
		return off
	})
	return c.compute(out, mapped(m, 0), x)
}

// buildGather picks, along axis, the entries the constant indices name.
func buildGather(c *nodeCtx) (*value, error) {
	x, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	k, ok := c.konst(1)
	if !ok {
		return nil, fmt.Errorf("indices must be a constant")
	}
	indices, err := k.ints("indices")
	if err != nil {
		return nil, err
	}
	in := x.shape()
	axis, err := c.axisAttr(0, len(in))
	if err != nil {
		return nil, err
	}
	for _, i := range indices {
		if i < -int64(in[axis]) || i >= int64(in[axis]) {
			return nil, fmt.Errorf("index %d is out of range for axis %d of %v", i, axis, in)
		}
	}
	out := append(append(append([]int(nil), in[:axis]...), k.shape...), in[axis+1:]...)
	st := strides(in)
	ir := len(k.shape)
	kst := strides(k.shape)
	m := gatherIndex(out, func(idx []int) int {
		off := 0
		for d := range axis {
			off += idx[d] * st[d]
		}
		ki := 0
		for d := range ir {
			ki += idx[axis+d] * kst[d]
		}
		i := int(indices[ki])
		if i < 0 {
			i += in[axis]
		}
		off += i * st[axis]
		for d := axis + 1; d < len(in); d++ {
			off += idx[d-1+ir] * st[d]
		}
		return off
	})
	return c.compute(out, mapped(m, 0), x)
}

// reduceKinds are the Reduce ops: the start value, how to add an element,
// and how to finish over n elements.
var reduceKinds = map[string]struct {
	init   float64
	add    func(acc, v float64) float64
	finish func(acc float64, n int) float64
}{
	"ReduceSum":       {0, func(a, v float64) float64 { return a + v }, nil},
	"ReduceMean":      {0, func(a, v float64) float64 { return a + v }, func(a float64, n int) float64 { return a / float64(n) }},
	"ReduceMax":       {math.Inf(-1), math.Max, nil},
	"ReduceMin":       {math.Inf(1), math.Min, nil},
	"ReduceProd":      {1, func(a, v float64) float64 { return a * v }, nil},
	"ReduceSumSquare": {0, func(a, v float64) float64 { return a + v*v }, nil},
	"ReduceL1":        {0, func(a, v float64) float64 { return a + math.Abs(v) }, nil},
	"ReduceL2":        {0, func(a, v float64) float64 { return a + v*v }, func(a float64, _ int) float64 { return math.Sqrt(a) }},
	"ReduceLogSumExp": {0, func(a, v float64) float64 { return a + math.Exp(v) }, func(a float64, _ int) float64 { return math.Log(a) }},
}

// buildReduce: axes are an attribute until the op's opset 13 (ReduceSum) or
// 18 (the others), then an optional constant input; keepdims defaults to 1,
// and no axes means all of them (unless noop_with_empty_axes).
func buildReduce(c *nodeCtx) (*value, error) {
	kind := reduceKinds[c.proto.GetOpType()]
	x, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	in := x.shape()
	since := int64(18)
	if c.proto.GetOpType() == "ReduceSum" {
		since = 13
	}
	axes, ok, err := c.intList("axes", 1, since)
	if err != nil {
		return nil, err
	}
	keep, err := c.attrs.int("keepdims", 1)
	if err != nil {
		return nil, err
	}
	noop, err := c.attrs.int("noop_with_empty_axes", 0)
	if err != nil {
		return nil, err
	}
	if !ok || len(axes) == 0 {
		if noop != 0 {
			return c.arg(0)
		}
		axes = nil
		for i := range in {
			axes = append(axes, i)
		}
	}
	if axes, err = normAxes(axes, len(in)); err != nil {
		return nil, err
	}
	var out, kept []int // kept: the output shape with reduced axes as 1
	for i, d := range in {
		if slices.Contains(axes, i) {
			kept = append(kept, 1)
			if keep != 0 {
				out = append(out, 1)
			}
			continue
		}
		kept = append(kept, d)
		out = append(out, d)
	}
	ost := broadcastStrides(kept, in) // where each input element lands
	n := numElems(in) / numElems(kept)
	return c.compute(out, func(o []float32, ins [][]float32) {
		acc := make([]float64, len(o))
		for i := range acc {
			acc[i] = kind.init
		}
		idx := make([]int, len(in))
		off := 0
		for _, v := range ins[0] {
			acc[off] = kind.add(acc[off], float64(v))
			for d := len(in) - 1; d >= 0; d-- {
				idx[d]++
				off += ost[d]
				if idx[d] < in[d] {
					break
				}
				off -= ost[d] * in[d]
				idx[d] = 0
			}
		}
		for i, a := range acc {
			if kind.finish != nil {
				a = kind.finish(a, n)
			}
			o[i] = float32(a)
		}
	}, x)
}

// buildInstanceNormalization normalises each (image, channel) plane to zero
// mean and unit variance, then applies the per-channel scale and B.
func buildInstanceNormalization(c *nodeCtx) (*value, error) {
	x, err := c.node(0)
	if err != nil {
		return nil, err
	}
	xs := []int(x.Shape())
	if len(xs) < 3 {
		return nil, fmt.Errorf("input of shape %v: want N,C and spatial axes", xs)
	}
	eps, err := c.attrs.float("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	scale, err := c.node(1)
	if err != nil {
		return nil, err
	}
	bias, err := c.node(2)
	if err != nil {
		return nil, err
	}
	ch, plane := xs[1], numElems(xs[2:])
	return c.apply(xs, func(out []float32, ins [][]float32) {
		for p := range xs[0] * ch {
			v := ins[0][p*plane : (p+1)*plane]
			var mean, sq float64
			for _, e := range v {
				mean += float64(e)
			}
			mean /= float64(plane)
			for _, e := range v {
				sq += (float64(e) - mean) * (float64(e) - mean)
			}
			inv := 1 / math.Sqrt(sq/float64(plane)+float64(eps))
			s, b := float64(ins[1][p%ch]), float64(ins[2][p%ch])
			for i, e := range v {
				out[p*plane+i] = float32((float64(e)-mean)*inv*s + b)
			}
		}
	}, x, scale, bias)
}
