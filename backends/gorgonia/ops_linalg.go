package gorgonia

import (
	"fmt"
	"slices"

	gg "gorgonia.org/gorgonia"
)

// buildGemm: Y = alpha·A'·B' + beta·C, A' and B' being A and B transposed
// when transA and transB say so. Constant operands (the usual weights) are
// transposed and scaled once, at build time; otherwise gorgonia transposes
// and a scalar multiply applies alpha.
func buildGemm(c *nodeCtx) (*value, error) {
	alpha, err := c.attrs.float("alpha", 1)
	if err != nil {
		return nil, err
	}
	beta, err := c.attrs.float("beta", 1)
	if err != nil {
		return nil, err
	}
	transA, err := c.attrs.int("transA", 0)
	if err != nil {
		return nil, err
	}
	transB, err := c.attrs.int("transB", 0)
	if err != nil {
		return nil, err
	}
	// alpha goes into whichever operand is a constant, else after the product.
	alphaA, alphaB, alphaY := float32(1), float32(1), alpha
	if _, ok := c.konst(1); ok {
		alphaB, alphaY = alpha, 1
	} else if _, ok := c.konst(0); ok {
		alphaA, alphaY = alpha, 1
	}
	a, err := c.matrix(0, "A", transA != 0, alphaA)
	if err != nil {
		return nil, err
	}
	b, err := c.matrix(1, "B", transB != 0, alphaB)
	if err != nil {
		return nil, err
	}
	if a.Shape()[1] != b.Shape()[0] {
		return nil, fmt.Errorf("operands A' %v and B' %v do not multiply", a.Shape(), b.Shape())
	}
	y, err := gg.Mul(a, b)
	if err != nil {
		return nil, err
	}
	if y, err = c.scale(y, alphaY); err != nil {
		return nil, err
	}
	if c.opt(2) == nil || beta == 0 {
		return nodeValue(y, nil)
	}
	bias, err := c.scaledInput(2, "C", beta)
	if err != nil {
		return nil, err
	}
	return nodeValue(elementwise(binAdd, y, bias))
}

// matrix returns input i, a 2-D matrix, transposed when trans and
// multiplied by s. A constant is rearranged once per program; a graph value
// is transposed by gorgonia (s must then be 1).
func (c *nodeCtx) matrix(i int, role string, trans bool, s float32) (*gg.Node, error) {
	v, err := c.arg(i)
	if err != nil {
		return nil, err
	}
	if len(v.shape()) != 2 {
		return nil, fmt.Errorf("%s must be a matrix, got shape %v", role, v.shape())
	}
	if v.konst == nil {
		if !trans {
			return v.node, nil
		}
		return gg.Transpose(v.node, 1, 0)
	}
	d, err := c.derived(role, func() (*constTensor, error) {
		data, err := v.konst.floats(role)
		if err != nil {
			return nil, err
		}
		shape := v.konst.shape
		if trans {
			data, shape = transposeData(data, shape, []int{1, 0}), []int{shape[1], shape[0]}
		}
		return &constTensor{shape: shape, f32: scaled(data, s)}, nil
	})
	if err != nil {
		return nil, err
	}
	return c.constNode(d)
}

// scaledInput returns input i multiplied by s: folded at build time for a
// constant, a scalar multiply otherwise.
func (c *nodeCtx) scaledInput(i int, role string, s float32) (*gg.Node, error) {
	v, err := c.arg(i)
	if err != nil {
		return nil, err
	}
	if v.konst == nil {
		return c.scale(v.node, s)
	}
	if s == 1 {
		return c.nodeOf(v)
	}
	d, err := c.derived(role, func() (*constTensor, error) {
		data, err := v.konst.floats(role)
		if err != nil {
			return nil, err
		}
		return &constTensor{shape: v.konst.shape, f32: scaled(data, s)}, nil
	})
	if err != nil {
		return nil, err
	}
	return c.constNode(d)
}

// scale multiplies n by s in the graph, unless s is 1.
func (c *nodeCtx) scale(n *gg.Node, s float32) (*gg.Node, error) {
	if s == 1 {
		return n, nil
	}
	k, err := c.scalarNode(s)
	if err != nil {
		return nil, err
	}
	return elementwise(binMul, n, k)
}

// scaled returns data multiplied by s, copying unless s is 1.
func scaled(data []float32, s float32) []float32 {
	if s == 1 {
		return data
	}
	out := make([]float32, len(data))
	for i, v := range data {
		out[i] = v * s
	}
	return out
}

// buildMatMul supports what inference graphs use: an N-D (N >= 2) left
// operand times a 2-D right one (flattened to one matrix product), equal-rank
// N-D operands with equal batch axes (gorgonia's BatchedMatMul), and 1-D
// operands, promoted and squeezed as numpy does.
func buildMatMul(c *nodeCtx) (*value, error) {
	a, err := c.node(0)
	if err != nil {
		return nil, err
	}
	b, err := c.node(1)
	if err != nil {
		return nil, err
	}
	sa, sb := []int(a.Shape()), []int(b.Shape())
	squeezeA, squeezeB := len(sa) == 1, len(sb) == 1
	if squeezeA {
		sa = []int{1, sa[0]}
	}
	if squeezeB {
		sb = []int{sb[0], 1}
	}
	if sa[len(sa)-1] != sb[len(sb)-2] {
		return nil, fmt.Errorf("shapes %v and %v do not multiply", a.Shape(), b.Shape())
	}
	var y *gg.Node
	var out []int
	switch {
	case len(sb) == 2:
		out = append(slices.Clone(sa[:len(sa)-1]), sb[1])
		y, err = matMul2D(a, b, sa, sb)
	case len(sa) == len(sb) && slices.Equal(sa[:len(sa)-2], sb[:len(sb)-2]):
		out = append(slices.Clone(sa[:len(sa)-1]), sb[len(sb)-1])
		y, err = matMulBatched(a, b, sa, sb)
	default:
		return nil, fmt.Errorf("shapes %v and %v are not supported by the gorgonia backend (a 2-D right operand, or equal batch axes, are)", a.Shape(), b.Shape())
	}
	if err != nil {
		return nil, err
	}
	final := make([]int, 0, len(out))
	for i, d := range out {
		if (squeezeA && i == len(out)-2) || (squeezeB && i == len(out)-1) {
			continue // the axes numpy added to the 1-D operands
		}
		final = append(final, d)
	}
	if len(final) == 0 {
		return nil, fmt.Errorf("a scalar result (vector times vector) is not supported by the gorgonia backend")
	}
	return nodeValue(reshapeNode(y, final))
}

// matMul2D multiplies a, of shape sa (rank >= 2), by the matrix b of shape
// sb, as one [rows,K]×[K,N] product.
func matMul2D(a, b *gg.Node, sa, sb []int) (*gg.Node, error) {
	a2, err := reshapeNode(a, []int{numElems(sa[:len(sa)-1]), sa[len(sa)-1]})
	if err != nil {
		return nil, err
	}
	b2, err := reshapeNode(b, sb)
	if err != nil {
		return nil, err
	}
	return gg.Mul(a2, b2)
}

// matMulBatched multiplies equal-rank a and b with equal batch axes, as one
// batched product over their flattened batch axes.
func matMulBatched(a, b *gg.Node, sa, sb []int) (*gg.Node, error) {
	r := len(sa)
	batch := numElems(sa[:r-2])
	a3, err := reshapeNode(a, []int{batch, sa[r-2], sa[r-1]})
	if err != nil {
		return nil, err
	}
	b3, err := reshapeNode(b, []int{batch, sb[r-2], sb[r-1]})
	if err != nil {
		return nil, err
	}
	return gg.BatchedMatMul(a3, b3)
}

// transposeData permutes the axes of data, of the given shape, by perm.
func transposeData[T any](data []T, shape, perm []int) []T {
	out := make([]T, len(data))
	rank := len(shape)
	strides := make([]int, rank) // strides of the input, permuted
	step := 1
	for i := rank - 1; i >= 0; i-- {
		for j, p := range perm {
			if p == i {
				strides[j] = step
			}
		}
		step *= shape[i]
	}
	idx := make([]int, rank)
	off := 0
	for o := range out {
		out[o] = data[off]
		for d := rank - 1; d >= 0; d-- {
			idx[d]++
			off += strides[d]
			if idx[d] < shape[perm[d]] {
				break
			}
			off -= strides[d] * shape[perm[d]]
			idx[d] = 0
		}
	}
	return out
}
