package gorgonia

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// mapOp builds an elementwise op whose function may depend on the node's
// attributes: params reads them and returns the function.
func mapOp(params func(c *nodeCtx) (func(float32) float32, error)) opBuilder {
	return func(c *nodeCtx) (*value, error) {
		f, err := params(c)
		if err != nil {
			return nil, err
		}
		x, err := c.node(0)
		if err != nil {
			return nil, err
		}
		return c.apply(x.Shape(), func(out []float32, ins [][]float32) {
			for i, v := range ins[0] {
				out[i] = f(v)
			}
		}, x)
	}
}

// fixed is a mapOp without attributes.
func fixed(f func(float32) float32) opBuilder {
	return mapOp(func(*nodeCtx) (func(float32) float32, error) { return f, nil })
}

// f64 lifts a float64 function to float32.
func f64(f func(float64) float64) func(float32) float32 {
	return func(v float32) float32 { return float32(f(float64(v))) }
}

var (
	opNeg        = fixed(func(v float32) float32 { return -v })
	opAbs        = fixed(func(v float32) float32 { return float32(math.Abs(float64(v))) })
	opSqrt       = fixed(f64(math.Sqrt))
	opReciprocal = fixed(func(v float32) float32 { return 1 / v })
	opFloor      = fixed(f64(math.Floor))
	opCeil       = fixed(f64(math.Ceil))
	opErf        = fixed(f64(math.Erf))
	opSoftsign   = fixed(func(v float32) float32 { return v / (1 + float32(math.Abs(float64(v)))) })
	opSoftplus   = fixed(f64(func(v float64) float64 {
		if v > 30 {
			return v
		}
		return math.Log1p(math.Exp(v))
	}))
	opSign = fixed(func(v float32) float32 {
		switch {
		case v > 0:
			return 1
		case v < 0:
			return -1
		}
		return 0
	})
)

// attrFloats reads FLOAT attributes by name, each with its default.
func (c *nodeCtx) attrFloats(names []string, defs ...float32) ([]float64, error) {
	out := make([]float64, len(names))
	for i, n := range names {
		v, err := c.attrs.float(n, defs[i])
		if err != nil {
			return nil, err
		}
		out[i] = float64(v)
	}
	return out, nil
}

var opElu = mapOp(func(c *nodeCtx) (func(float32) float32, error) {
	p, err := c.attrFloats([]string{"alpha"}, 1)
	if err != nil {
		return nil, err
	}
	return f64(func(v float64) float64 {
		if v < 0 {
			return p[0] * math.Expm1(v)
		}
		return v
	}), nil
})

var opSelu = mapOp(func(c *nodeCtx) (func(float32) float32, error) {
	p, err := c.attrFloats([]string{"alpha", "gamma"}, 1.67326319217681884765625, 1.05070102214813232421875)
	if err != nil {
		return nil, err
	}
	return f64(func(v float64) float64 {
		if v <= 0 {
			return p[1] * p[0] * math.Expm1(v)
		}
		return p[1] * v
	}), nil
})

var opHardSigmoid = mapOp(func(c *nodeCtx) (func(float32) float32, error) {
	p, err := c.attrFloats([]string{"alpha", "beta"}, 0.2, 0.5)
	if err != nil {
		return nil, err
	}
	return f64(func(v float64) float64 { return max(0, min(1, p[0]*v+p[1])) }), nil
})

var opShrink = mapOp(func(c *nodeCtx) (func(float32) float32, error) {
	p, err := c.attrFloats([]string{"lambd", "bias"}, 0.5, 0)
	if err != nil {
		return nil, err
	}
	l, b := float32(p[0]), float32(p[1])
	return func(v float32) float32 {
		switch {
		case v < -l:
			return v + b
		case v > l:
			return v - b
		}
		return 0
	}, nil
})

// opClip: the bounds are the min and max attributes before opset 11, and
// optional constant inputs from opset 11.
var opClip = mapOp(func(c *nodeCtx) (func(float32) float32, error) {
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	if c.p.opset < 11 {
		p, err := c.attrFloats([]string{"min", "max"}, lo, hi)
		if err != nil {
			return nil, err
		}
		lo, hi = float32(p[0]), float32(p[1])
	} else {
		for i, dst := range []*float32{&lo, &hi} {
			if c.opt(i+1) == nil {
				continue
			}
			k, ok := c.konst(i + 1)
			if !ok || k.isInt || len(k.f32) != 1 {
				return nil, fmt.Errorf("input %d (the bound) must be a constant float scalar", i+1)
			}
			*dst = k.f32[0]
		}
	}
	return func(v float32) float32 { return min(max(v, lo), hi) }, nil
})

// naryOp folds Sum, Max, Min and Mean over any number of broadcasting
// inputs.
func naryOp(kind binKind, mean bool) opBuilder {
	return func(c *nodeCtx) (*value, error) {
		if !mean {
			if v, ok, err := c.foldIntInputs(kind); ok {
				return v, err
			}
		}
		acc, err := c.node(0)
		if err != nil {
			return nil, err
		}
		for i := 1; i < len(c.in); i++ {
			n, err := c.node(i)
			if err != nil {
				return nil, err
			}
			if acc, err = elementwise(kind, acc, n); err != nil {
				return nil, err
			}
		}
		if mean && len(c.in) > 1 {
			if acc, err = c.scale(acc, 1/float32(len(c.in))); err != nil {
				return nil, err
			}
		}
		if len(c.in) == 1 {
			// The result must be a node of its own: copy.
			return c.apply(acc.Shape(), func(out []float32, ins [][]float32) { copy(out, ins[0]) }, acc)
		}
		return nodeValue(acc, nil)
	}
}

// buildSoftmax covers Softmax and LogSoftmax. From opset 13 they normalise
// along one axis (default -1); before, they coerced the input to 2-D at axis
// (default 1) and normalised each row.
func buildSoftmax(log bool) opBuilder {
	return func(c *nodeCtx) (*value, error) {
		x, err := c.node(0)
		if err != nil {
			return nil, err
		}
		def := int64(-1)
		if c.p.opset < 13 {
			def = 1
		}
		a, err := c.attrs.int("axis", def)
		if err != nil {
			return nil, err
		}
		shape := []int(x.Shape())
		axis, err := normAxis(int(a), len(shape))
		if err != nil {
			return nil, err
		}
		outer, n, inner := numElems(shape[:axis]), shape[axis], numElems(shape[axis+1:])
		if c.p.opset < 13 {
			n, inner = numElems(shape[axis:]), 1
		}
		return c.apply(shape, func(out []float32, ins [][]float32) {
			softmax(out, ins[0], outer, n, inner, log)
		}, x)
	}
}

// softmax normalises x, seen as [outer, n, inner], along its middle axis.
func softmax(out, x []float32, outer, n, inner int, log bool) {
	for o := range outer {
		for in := range inner {
			base := o*n*inner + in
			m := float32(math.Inf(-1))
			for k := range n {
				m = max(m, x[base+k*inner])
			}
			var sum float64
			for k := range n {
				e := math.Exp(float64(x[base+k*inner] - m))
				out[base+k*inner] = float32(e)
				sum += e
			}
			for k := range n {
				i := base + k*inner
				if log {
					out[i] = float32(float64(x[i]-m) - math.Log(sum))
				} else {
					out[i] = float32(float64(out[i]) / sum)
				}
			}
		}
	}
}

// binaryOp is a two-input broadcasting op without a gorgonia equivalent.
func binaryOp(kind binKind) opBuilder {
	return func(c *nodeCtx) (*value, error) {
		a, b, err := c.twoNodes()
		if err != nil {
			return nil, err
		}
		if kind == binPRelu && c.p.opset < 7 && len(b.Shape()) == 1 && len(a.Shape()) > 2 && b.Shape()[0] == a.Shape()[1] {
			// Before opset 7 a vector slope is per channel.
			if b, err = c.channelVector(1, "slope", a.Shape()[1], a.Dims()); err != nil {
				return nil, err
			}
		}
		if kind == binPRelu {
			// The slope broadcasts to X (unidirectionally).
			if s, err := broadcastShape(a.Shape(), b.Shape()); err != nil || !tensor.Shape(s).Eq(a.Shape()) {
				return nil, fmtErr(err, "slope of shape %v does not broadcast to X %v", b.Shape(), a.Shape())
			}
		}
		return nodeValue(elementwise(kind, a, b))
	}
}
