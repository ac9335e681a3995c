package gorgonia

import (
	"fmt"
	"math"

	gg "gorgonia.org/gorgonia"
)

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
	folded, err := c.derived("scale-shift", func() (*constTensor, error) { return c.foldBatchNorm(xs[1]) }, c.konsts(1, 5)...)
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
