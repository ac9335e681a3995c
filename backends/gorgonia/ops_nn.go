package gorgonia

import (
	"fmt"
	"math"

	gg "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// pair reads an INTS attribute of two positive values (one per spatial
// axis), def when absent.
func (c *nodeCtx) pair(name string, def [2]int) ([2]int, error) {
	v, err := c.attrs.ints(name, def[:])
	if err != nil {
		return def, err
	}
	if len(v) != 2 || v[0] <= 0 || v[1] <= 0 {
		return def, fmt.Errorf("%s %v: want two positive values (2-D only)", name, v)
	}
	return [2]int{v[0], v[1]}, nil
}

// window reads the sliding-window attributes of Conv and the pools for an
// NCHW input of spatial size hw and the given kernel: strides, dilations,
// and pads or auto_pad.
func (c *nodeCtx) window(hw []int, kernel [2]int) (window2D, error) {
	w := window2D{kernel: kernel}
	var err error
	if w.strides, err = c.pair("strides", [2]int{1, 1}); err != nil {
		return w, err
	}
	if w.dilations, err = c.pair("dilations", [2]int{1, 1}); err != nil {
		return w, err
	}
	autoPad, err := c.attrs.str("auto_pad", "NOTSET")
	if err != nil {
		return w, err
	}
	switch autoPad {
	case "NOTSET":
		pads, err := c.attrs.ints("pads", []int{0, 0, 0, 0})
		if err != nil {
			return w, err
		}
		if len(pads) != 4 || min(pads[0], pads[1], pads[2], pads[3]) < 0 {
			return w, fmt.Errorf("pads %v: want four values >= 0 (2-D only)", pads)
		}
		copy(w.pads[:], pads)
	case "VALID":
	case "SAME_UPPER", "SAME_LOWER":
		for ax := range 2 {
			out := (hw[ax] + w.strides[ax] - 1) / w.strides[ax]
			total := max(0, (out-1)*w.strides[ax]+(kernel[ax]-1)*w.dilations[ax]+1-hw[ax])
			begin := total / 2
			if autoPad == "SAME_LOWER" {
				begin = total - total/2
			}
			w.pads[ax], w.pads[ax+2] = begin, total-begin
		}
	default:
		return w, fmt.Errorf("auto_pad %q is not supported", autoPad)
	}
	return w, nil
}

func (w window2D) symmetric() bool { return w.pads[0] == w.pads[2] && w.pads[1] == w.pads[3] }

// input4D returns input 0, which must be NCHW.
func (c *nodeCtx) input4D() (*gg.Node, []int, error) {
	x, err := c.node(0)
	if err != nil {
		return nil, nil, err
	}
	if x.Dims() != 4 {
		return nil, nil, fmt.Errorf("input of shape %v: only 2-D (NCHW) inputs are supported by the gorgonia backend", x.Shape())
	}
	return x, []int(x.Shape()), nil
}

// buildConv: gorgonia's Conv2d (im2col and a matrix product), after a custom
// zero pad when the pads are asymmetric; the bias is added with a broadcast.
func buildConv(c *nodeCtx) (*value, error) {
	if g, err := c.attrs.int("group", 1); err != nil || g != 1 {
		return nil, fmtErr(err, "group %d is not supported by the gorgonia backend (only 1 is)", g)
	}
	x, xs, err := c.input4D()
	if err != nil {
		return nil, err
	}
	w, err := c.node(1)
	if err != nil {
		return nil, err
	}
	ws := []int(w.Shape())
	if len(ws) != 4 || ws[1] != xs[1] {
		return nil, fmt.Errorf("weight of shape %v does not fit input %v", ws, xs)
	}
	kernel, err := c.pair("kernel_shape", [2]int{ws[2], ws[3]})
	if err != nil || kernel != [2]int{ws[2], ws[3]} {
		return nil, fmtErr(err, "kernel_shape %v does not match the weight %v", kernel, ws)
	}
	win, err := c.window(xs[2:], kernel)
	if err != nil {
		return nil, err
	}
	if win.outSize(0, xs[2], false) < 1 || win.outSize(1, xs[3], false) < 1 {
		return nil, fmt.Errorf("kernel %v does not fit input %v with pads %v", kernel, xs, win.pads)
	}
	pad := []int{win.pads[0], win.pads[1]}
	if !win.symmetric() {
		if x, err = gg.ApplyOp(newPadOp(xs, win.pads), x); err != nil {
			return nil, err
		}
		pad = []int{0, 0}
	}
	y, err := gg.Conv2d(x, w, tensor.Shape{kernel[0], kernel[1]}, pad, win.strides[:], win.dilations[:])
	if err != nil {
		return nil, err
	}
	if c.opt(2) == nil {
		return nodeValue(y, nil)
	}
	bias, err := c.channelVector(2, "B", ws[0], 4)
	if err != nil {
		return nil, err
	}
	return nodeValue(elementwise(binAdd, y, bias))
}

// channelVector returns input i, a vector of n values, shaped [1,n,1,...] to
// broadcast over the channels of a tensor of the given rank.
func (c *nodeCtx) channelVector(i int, role string, n, rank int) (*gg.Node, error) {
	v, err := c.arg(i)
	if err != nil {
		return nil, err
	}
	if s := v.shape(); len(s) != 1 || s[0] != n {
		return nil, fmt.Errorf("%s of shape %v: want [%d]", role, s, n)
	}
	shape := make([]int, rank)
	for j := range shape {
		shape[j] = 1
	}
	shape[1] = n
	r, err := reshapeValue(c, v, shape)
	if err != nil {
		return nil, err
	}
	return c.nodeOf(r)
}

func fmtErr(err error, format string, args ...any) error {
	if err != nil {
		return err
	}
	return fmt.Errorf(format, args...)
}

// pool reads the attributes the pools share and returns the custom pool op.
func (c *nodeCtx) pool(xs []int, avg bool) (*poolOp, error) {
	kernel, err := c.pair("kernel_shape", [2]int{0, 0})
	if err != nil || !c.attrs.has("kernel_shape") {
		return nil, fmtErr(err, "kernel_shape is required")
	}
	w, err := c.window(xs[2:], kernel)
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
	out := []int{xs[0], xs[1], w.outSize(0, xs[2], ceil != 0), w.outSize(1, xs[3], ceil != 0)}
	if out[2] < 1 || out[3] < 1 {
		return nil, fmt.Errorf("kernel %v does not fit input %v with pads %v", kernel, xs, w.pads)
	}
	return &poolOp{avg: avg, countPad: countPad != 0, w: w, in: xs, out: out}, nil
}

// buildMaxPool: gorgonia's MaxPool2D where it agrees with ONNX (symmetric
// pads, no dilation, the floor output size), the custom pool otherwise.
func buildMaxPool(c *nodeCtx) (*value, error) {
	x, xs, err := c.input4D()
	if err != nil {
		return nil, err
	}
	op, err := c.pool(xs, false)
	if err != nil {
		return nil, err
	}
	w := op.w
	floor := []int{xs[0], xs[1], w.outSize(0, xs[2], false), w.outSize(1, xs[3], false)}
	if w.symmetric() && w.dilations == [2]int{1, 1} && tensor.Shape(floor).Eq(tensor.Shape(op.out)) {
		return nodeValue(gg.MaxPool2D(x, tensor.Shape{w.kernel[0], w.kernel[1]}, []int{w.pads[0], w.pads[1]}, w.strides[:]))
	}
	return nodeValue(gg.ApplyOp(op, x))
}

// buildAveragePool always uses the custom pool.
func buildAveragePool(c *nodeCtx) (*value, error) {
	x, xs, err := c.input4D()
	if err != nil {
		return nil, err
	}
	op, err := c.pool(xs, true)
	if err != nil {
		return nil, err
	}
	return nodeValue(gg.ApplyOp(op, x))
}

// buildGlobalAveragePool: gorgonia's GlobalAveragePool2D on NCHW; other
// ranks (N,C,spatial...) are reshaped to N,C,1,S and back.
func buildGlobalAveragePool(c *nodeCtx) (*value, error) {
	x, err := c.node(0)
	if err != nil {
		return nil, err
	}
	xs := []int(x.Shape())
	if len(xs) < 3 {
		return nil, fmt.Errorf("input of shape %v: want N,C and at least one spatial axis", xs)
	}
	x4, err := reshapeNode(x, []int{xs[0], xs[1], 1, numElems(xs[2:])})
	if err != nil {
		return nil, err
	}
	y, err := gg.GlobalAveragePool2D(x4)
	if err != nil {
		return nil, err
	}
	out := []int{xs[0], xs[1]}
	for range xs[2:] {
		out = append(out, 1)
	}
	return nodeValue(reshapeNode(y, out))
}

// buildBatchNormalization is the inference form, composed: with
// a = scale/sqrt(var+epsilon) and b = B - mean·a folded once at build time
// (the four parameters must be constants), y = x·a + b per channel.
func buildBatchNormalization(c *nodeCtx) (*value, error) {
	x, err := c.node(0)
	if err != nil {
		return nil, err
	}
	xs := []int(x.Shape())
	if len(xs) < 2 {
		return nil, fmt.Errorf("input of shape %v: want at least the N and C axes", xs)
	}
	if t, err := c.attrs.int("training_mode", 0); err != nil || t != 0 {
		return nil, fmtErr(err, "training_mode is not supported by the gorgonia backend (inference only)")
	}
	if s, err := c.attrs.int("spatial", 1); err != nil || s != 1 {
		return nil, fmtErr(err, "spatial=0 is not supported by the gorgonia backend")
	}
	folded, err := c.derived("scale-shift", func() (*constTensor, error) { return c.foldBatchNorm(xs[1]) })
	if err != nil {
		return nil, err
	}
	shape := make([]int, len(xs)) // [1,C,1,...]
	for i := range shape {
		shape[i] = 1
	}
	shape[1] = xs[1]
	y := x
	for i, kind := range []binKind{binMul, binAdd} {
		k, err := c.constNode(&constTensor{shape: shape, f32: folded.f32[i*xs[1] : (i+1)*xs[1]]})
		if err != nil {
			return nil, err
		}
		if y, err = elementwise(kind, y, k); err != nil {
			return nil, err
		}
	}
	return nodeValue(y, nil)
}

// foldBatchNorm computes, in float64, the per-channel factors a followed by
// the offsets b of an inference BatchNormalization over n channels.
func (c *nodeCtx) foldBatchNorm(n int) (*constTensor, error) {
	eps, err := c.attrs.float("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	p := make([][]float32, 4) // scale, B, mean, var
	for i := range p {
		k, ok := c.konst(i + 1)
		if !ok || len(k.shape) != 1 || k.shape[0] != n || k.isInt {
			return nil, fmt.Errorf("input %d must be a constant float vector of %d values (scale, B, mean and var are)", i+1, n)
		}
		p[i] = k.f32
	}
	out := make([]float32, 2*n)
	for i := range n {
		a := float64(p[0][i]) / math.Sqrt(float64(p[3][i])+float64(eps))
		out[i], out[n+i] = float32(a), float32(float64(p[1][i])-float64(p[2][i])*a)
	}
	return &constTensor{shape: []int{2, n}, f32: out}, nil
}
