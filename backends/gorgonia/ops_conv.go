package gorgonia

import (
	"fmt"
	"math"
	"slices"
	"sync"

	gg "gorgonia.org/gorgonia"
)

// scratchPool holds im2col buffers, reused across runs and graphs.
var scratchPool = sync.Pool{New: func() any { return new([]float32) }}

// buildConv: Conv with groups, strides, dilations, pads or auto_pad, over 1
// to 3 spatial axes, as im2col and the blocked matrix product (gemm.go) per
// image and group; a 1×1 convolution with stride 1 and no pads multiplies
// the input directly.
func buildConv(c *nodeCtx) (*value, error) {
	x, err := c.node(0)
	if err != nil {
		return nil, err
	}
	xs := []int(x.Shape())
	w, err := c.node(1)
	if err != nil {
		return nil, err
	}
	ws := []int(w.Shape())
	group, err := c.attrs.int("group", 1)
	if err != nil {
		return nil, err
	}
	if len(xs) < 3 || len(ws) != len(xs) || group < 1 || ws[0]%int(group) != 0 || ws[1]*int(group) != xs[1] {
		return nil, fmt.Errorf("weight of shape %v does not fit input %v with group %d", ws, xs, group)
	}
	if k, err := c.attrs.ints("kernel_shape", ws[2:]); err != nil || !slices.Equal(k, ws[2:]) {
		return nil, fmtErr(err, "kernel_shape %v does not match the weight %v", k, ws)
	}
	g, err := c.window(xs, ws[2:], false)
	if err != nil {
		return nil, err
	}
	k := &convKernel{g: g, n: xs[0], c: xs[1], m: ws[0], group: int(group)}
	if c.opt(2) != nil {
		if s := c.opt(2).shape(); len(s) != 1 || s[0] != ws[0] {
			return nil, fmt.Errorf("bias of shape %v: want [%d]", s, ws[0])
		}
	}
	inputs := []*gg.Node{x, w}
	last := c // the last node this one computes
	if folded, bn, err := c.foldFollowingBN(ws); err != nil {
		return nil, err
	} else if bn != nil {
		// The weights and bias scaled and shifted by the BatchNormalization.
		if inputs[1], err = c.constNode(folded[0]); err != nil {
			return nil, err
		}
		b, err := c.constNode(folded[1])
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, b)
		last = bn
	} else if c.opt(2) != nil {
		b, err := c.node(2)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, b)
	}
	var fused []int
	if last != c {
		fused = append(fused, last.index)
	}
	if j := last.fuseRelu(); j >= 0 {
		k.relu = true
		fused = append(fused, j)
	}
	v, err := c.apply(g.outShape(xs[0], ws[0]), k.run, inputs...)
	if err != nil {
		return nil, err
	}
	for _, j := range fused {
		c.fused[j] = v
	}
	return v, nil
}

// foldFollowingBN folds the BatchNormalization that alone reads this Conv's
// output into the Conv's weights and bias, when all of them are constants:
// w'[m] = w[m]·a[m], b'[m] = b[m]·a[m] + shift[m]. It returns the folded
// weights and bias and the BatchNormalization's context, or nil when there
// is nothing to fold.
func (c *nodeCtx) foldFollowingBN(ws []int) ([2]*constTensor, *nodeCtx, error) {
	var none [2]*constTensor
	j, ok := c.soleConsumer()
	bnNode := c.p.nodes[min(j, len(c.p.nodes)-1)]
	if !ok || bnNode.GetOpType() != "BatchNormalization" || !defaultDomain(bnNode.GetDomain()) || len(bnNode.GetOutput()) != 1 {
		return none, nil, nil
	}
	w, wok := c.konst(1)
	b, bok := c.konst(2)
	if !wok || w.isInt || (c.opt(2) != nil && (!bok || b.isInt)) {
		return none, nil, nil
	}
	bn, err := c.nodeCtxOf(j, c.proto.GetOutput()[0])
	if err != nil {
		return none, nil, nil // BN's parameters come later: build it on its own
	}
	if t, err := bn.attrs.int("training_mode", 0); err != nil || t != 0 {
		return none, nil, nil
	}
	if s, err := bn.attrs.int("spatial", 1); err != nil || s != 1 {
		return none, nil, nil
	}
	m := ws[0]
	ss, err := bn.derived("scale-shift", func() (*constTensor, error) { return bn.foldBatchNorm(m) }, bn.konsts(1, 5)...)
	if err != nil {
		return none, nil, nil // not constants: BN builds on its own (and says why if it cannot)
	}
	var out [2]*constTensor
	per := len(w.f32) / m
	for i, role := range []string{"bn-weight", "bn-bias"} {
		out[i], err = c.derived(role, func() (*constTensor, error) {
			if i == 0 {
				f := make([]float32, len(w.f32))
				for o := range m {
					for q := range per {
						f[o*per+q] = w.f32[o*per+q] * ss.f32[o]
					}
				}
				return &constTensor{shape: w.shape, f32: f}, nil
			}
			f := make([]float32, m)
			for o := range m {
				bias := float32(0)
				if b != nil {
					bias = b.f32[o]
				}
				f[o] = bias*ss.f32[o] + ss.f32[m+o]
			}
			return &constTensor{shape: []int{m}, f32: f}, nil
		}, w, b, ss)
		if err != nil {
			return none, nil, err
		}
	}
	return out, bn, nil
}

// convKernel computes one Conv: n images of c channels into m channels, in
// group groups.
type convKernel struct {
	g              *geom
	n, c, m, group int
	relu           bool // a Relu that alone reads the output is fused in
}

func (k *convKernel) run(out []float32, ins [][]float32) {
	g := k.g
	x, w := ins[0], ins[1]
	cg, mg := k.c/k.group, k.m/k.group
	rows, cols := cg*g.taps(), g.outSize()
	pointwise := g.taps() == 1 && g.strides == [3]int{1, 1, 1} && g.padBegin == [3]int{} && g.padEnd == [3]int{}
	var buf *[]float32
	if !pointwise {
		buf = scratchPool.Get().(*[]float32)
		defer scratchPool.Put(buf)
		*buf = grow(*buf, rows*cols)
	}
	for n := range k.n {
		for gi := range k.group {
			xg := x[(n*k.c+gi*cg)*g.inSize():]
			b := xg
			if !pointwise {
				im2col(*buf, xg, cg, g)
				b = *buf
			}
			sgemm(mg, cols, rows, matView{data: w[gi*mg*rows:], ld: rows}, matView{data: b, ld: cols},
				out[(n*k.m+gi*mg)*cols:], cols, false)
		}
	}
	if len(ins) < 3 && !k.relu {
		return
	}
	for n := range k.n {
		for m := range k.m {
			row := out[(n*k.m+m)*cols : (n*k.m+m+1)*cols]
			if len(ins) > 2 {
				bias := ins[2][m]
				for j := range row {
					row[j] += bias
				}
			}
			if k.relu {
				for j, v := range row {
					row[j] = relu(v)
				}
			}
		}
	}
}

// im2col lays out the windows of ch channels of x as the columns of col: one
// row per (channel, kernel tap), one column per output position, zeros where
// a tap falls in the padding.
func im2col(col, x []float32, ch int, g *geom) {
	cols := g.outSize()
	row := 0
	for c := range ch {
		xc := x[c*g.inSize() : (c+1)*g.inSize()]
		for k0 := range g.kernel[0] {
			for k1 := range g.kernel[1] {
				for k2 := range g.kernel[2] {
					im2colRow(col[row*cols:(row+1)*cols], xc, g, [3]int{k0, k1, k2})
					row++
				}
			}
		}
	}
}

// im2colRow fills one row of im2col: the input value under tap k at every
// output position.
func im2colRow(dst, xc []float32, g *geom, k [3]int) {
	i := 0
	out2, in2 := g.out[2], g.in[2]
	s2, off2 := g.strides[2], k[2]*g.dilations[2]-g.padBegin[2]
	// Output positions along the last axis whose tap is inside the input.
	lo, hi := 0, out2
	for lo < out2 && lo*s2+off2 < 0 {
		lo++
	}
	for hi > lo && (hi-1)*s2+off2 >= in2 {
		hi--
	}
	for o0 := range g.out[0] {
		i0 := o0*g.strides[0] + k[0]*g.dilations[0] - g.padBegin[0]
		for o1 := range g.out[1] {
			i1 := o1*g.strides[1] + k[1]*g.dilations[1] - g.padBegin[1]
			d := dst[i : i+out2]
			i += out2
			if i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1] || lo >= hi {
				clear(d)
				continue
			}
			src := xc[(i0*g.in[1]+i1)*in2:]
			clear(d[:lo])
			if s2 == 1 {
				copy(d[lo:hi], src[lo+off2:hi+off2])
			} else {
				for o := lo; o < hi; o++ {
					d[o] = src[o*s2+off2]
				}
			}
			clear(d[hi:])
		}
	}
}

// buildPool builds MaxPool (max) or AveragePool with ONNX semantics:
// asymmetric pads, dilations, ceil_mode and count_include_pad, 1 to 3
// spatial axes.
func buildPool(isMax bool) opBuilder {
	return func(c *nodeCtx) (*value, error) {
		x, err := c.node(0)
		if err != nil {
			return nil, err
		}
		xs := []int(x.Shape())
		if !c.attrs.has("kernel_shape") {
			return nil, fmt.Errorf("kernel_shape is required")
		}
		kernel, err := c.spatialInts("kernel_shape", len(xs)-2, 1, 1)
		if err != nil {
			return nil, err
		}
		ceil, err := c.attrs.int("ceil_mode", 0)
		if err != nil {
			return nil, err
		}
		countPad, err := c.attrs.int("count_include_pad", 0)
		if err != nil {
			return nil, err
		}
		g, err := c.window(xs, kernel, ceil != 0)
		if err != nil {
			return nil, err
		}
		p := &poolKernel{g: g, planes: xs[0] * xs[1], max: isMax, countPad: countPad != 0}
		return c.apply(g.outShape(xs[0], xs[1]), p.run, x)
	}
}

// poolKernel pools planes N·C planes.
type poolKernel struct {
	g        *geom
	planes   int
	max      bool
	countPad bool // AveragePool's count_include_pad
}

func (p *poolKernel) run(out []float32, ins [][]float32) {
	g := p.g
	for pl := range p.planes {
		in := ins[0][pl*g.inSize() : (pl+1)*g.inSize()]
		o := out[pl*g.outSize() : (pl+1)*g.outSize()]
		i := 0
		for o0 := range g.out[0] {
			for o1 := range g.out[1] {
				for o2 := range g.out[2] {
					o[i] = p.window([3]int{o0, o1, o2}, in)
					i++
				}
			}
		}
	}
}

// window pools the window of output position o.
func (p *poolKernel) window(o [3]int, in []float32) float32 {
	g := p.g
	var start [3]int
	for a := range 3 {
		start[a] = o[a]*g.strides[a] - g.padBegin[a]
	}
	acc, n := float32(0), 0
	if p.max {
		acc = float32(math.Inf(-1))
	}
	for k0 := range g.kernel[0] {
		i0 := start[0] + k0*g.dilations[0]
		if i0 < 0 || i0 >= g.in[0] {
			continue
		}
		for k1 := range g.kernel[1] {
			i1 := start[1] + k1*g.dilations[1]
			if i1 < 0 || i1 >= g.in[1] {
				continue
			}
			row := in[(i0*g.in[1]+i1)*g.in[2]:]
			for k2 := range g.kernel[2] {
				i2 := start[2] + k2*g.dilations[2]
				if i2 < 0 || i2 >= g.in[2] {
					continue
				}
				if v := row[i2]; p.max {
					acc = max(acc, v)
				} else {
					acc += v
				}
				n++
			}
		}
	}
	if p.max {
		return acc
	}
	if p.countPad {
		n = 1
		for a := range 3 {
			n *= g.padTaps(a, start[a])
		}
	}
	if n == 0 {
		return 0
	}
	return acc / float32(n)
}

// padTaps counts the taps along axis a, from start, that fall inside the
// padded input [-padBegin, in+padEnd).
func (g *geom) padTaps(a, start int) int {
	n := 0
	for k := range g.kernel[a] {
		if i := start + k*g.dilations[a]; i >= -g.padBegin[a] && i < g.in[a]+g.padEnd[a] {
			n++
		}
	}
	return n
}

// buildGlobalPool is GlobalAveragePool or GlobalMaxPool over every spatial
// axis.
func buildGlobalPool(isMax bool) opBuilder {
	return func(c *nodeCtx) (*value, error) {
		x, err := c.node(0)
		if err != nil {
			return nil, err
		}
		xs := []int(x.Shape())
		if len(xs) < 3 {
			return nil, fmt.Errorf("input of shape %v: want N,C and at least one spatial axis", xs)
		}
		out := []int{xs[0], xs[1]}
		for range xs[2:] {
			out = append(out, 1)
		}
		size := numElems(xs[2:])
		return c.apply(out, func(out []float32, ins [][]float32) {
			for p := range out {
				plane := ins[0][p*size : (p+1)*size]
				if isMax {
					out[p] = slices.Max(plane)
					continue
				}
				var s float64
				for _, v := range plane {
					s += float64(v)
				}
				out[p] = float32(s / float64(size))
			}
		}, x)
	}
}

// buildLRN is local response normalisation across channels:
// y = x / (bias + alpha/size · Σ x²)^beta, the sum over the size channels
// centred on each (floor((size-1)/2) before, the rest after).
func buildLRN(c *nodeCtx) (*value, error) {
	x, err := c.node(0)
	if err != nil {
		return nil, err
	}
	xs := []int(x.Shape())
	size, err := c.attrs.int("size", 0)
	if err != nil || size < 1 {
		return nil, fmtErr(err, "size is required and must be positive")
	}
	p, err := c.attrFloats([]string{"alpha", "beta", "bias"}, 1e-4, 0.75, 1)
	if err != nil {
		return nil, err
	}
	if len(xs) < 2 {
		return nil, fmt.Errorf("input of shape %v: want N, C and spatial axes", xs)
	}
	ch, plane := xs[1], numElems(xs[2:])
	before, after := int(size-1)/2, int(size)-1-int(size-1)/2
	return c.apply(xs, func(out []float32, ins [][]float32) {
		x := ins[0]
		for n := range xs[0] {
			img := x[n*ch*plane : (n+1)*ch*plane]
			for cc := range ch {
				for j := range plane {
					var sq float64
					for k := max(0, cc-before); k <= min(ch-1, cc+after); k++ {
						v := float64(img[k*plane+j])
						sq += v * v
					}
					i := n*ch*plane + cc*plane + j
					out[i] = float32(float64(x[i]) / math.Pow(p[2]+p[0]/float64(size)*sq, p[1]))
				}
			}
		}
	}, x)
}
