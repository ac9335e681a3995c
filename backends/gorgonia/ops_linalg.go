package gorgonia

import (
	"fmt"

	gg "gorgonia.org/gorgonia"
)

// buildGemm: Y = alpha·A'·B' + beta·C, A' and B' being A and B transposed
// when transA and transB say so, computed by the blocked sgemm (gemm.go),
// which reads a transposed graph operand in place. Constant operands (the
// usual weights) are transposed and scaled once, at build time, so that
// packing them is a plain copy; C broadcasts to [M, N].
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
	a, ta, _, err := c.matrix(0, "A", transA != 0, alphaA)
	if err != nil {
		return nil, err
	}
	b, tb, bk, err := c.matrix(1, "B", transB != 0, alphaB)
	if err != nil {
		return nil, err
	}
	m, k := dimsOf(a.Shape(), ta)
	k2, n := dimsOf(b.Shape(), tb)
	if k != k2 {
		return nil, fmt.Errorf("operands A' [%d %d] and B' [%d %d] do not multiply", m, k, k2, n)
	}
	inputs := []*gg.Node{a, b}
	var cs []int // C's broadcast strides over [M, N]
	if c.opt(2) != nil && beta != 0 {
		bias, err := c.scaledInput(2, "C", beta)
		if err != nil {
			return nil, err
		}
		shape := c.opt(2).shape()
		if out, err := broadcastShape(shape, []int{m, n}); err != nil || out[0] != m || out[1] != n || len(shape) > 2 {
			return nil, fmtErr(err, "C of shape %v does not broadcast to [%d %d]", shape, m, n)
		}
		cs = broadcastStrides(shape, []int{m, n})
		inputs = append(inputs, bias)
	}
	lda, ldb := a.Shape()[1], b.Shape()[1]
	packed := false
	if bk != nil && !tb {
		// Constant weights (transposed and scaled by matrix): pack them
		// once, here.
		pk, err := c.derived("B-packed", func() (*constTensor, error) {
			data := prepackB(matView{data: bk.f32, ld: ldb}, k, n)
			return &constTensor{shape: []int{len(data)}, f32: data}, nil
		}, bk)
		if err != nil {
			return nil, err
		}
		if inputs[1], err = c.constNode(pk); err != nil {
			return nil, err
		}
		packed = true
	}
	reluAt := c.fuseRelu() // the Relu node computed here, or -1
	v, err := c.apply([]int{m, n}, func(out []float32, ins [][]float32) {
		av, bv := matView{data: ins[0], ld: lda, t: ta}, matView{data: ins[1], ld: ldb, t: tb}
		var pre []float32
		if packed {
			pre = ins[1]
		}
		if cs == nil || alphaY != 1 {
			sgemmPacked(m, n, k, av, bv, pre, out, n, false)
			if alphaY != 1 {
				for i := range out {
					out[i] *= alphaY
				}
			}
			if cs != nil {
				addBroadcast(out, ins[2], m, n, cs, true)
			}
		} else {
			addBroadcast(out, ins[2], m, n, cs, false)
			sgemmPacked(m, n, k, av, bv, pre, out, n, true)
		}
		if reluAt >= 0 {
			for i, x := range out {
				out[i] = relu(x)
			}
		}
	}, inputs...)
	if err == nil && reluAt >= 0 {
		c.fused[reluAt] = v
	}
	return v, err
}

// fuseRelu returns the index of the Relu that alone reads this node's
// output, which the node then computes itself, or -1.
func (c *nodeCtx) fuseRelu() int {
	j, ok := c.soleConsumer()
	if !ok || c.p.nodes[j].GetOpType() != "Relu" || !defaultDomain(c.p.nodes[j].GetDomain()) {
		return -1
	}
	return j
}

// dimsOf is the rows and columns of a matrix of shape s, read transposed
// when t.
func dimsOf(s []int, t bool) (int, int) {
	if t {
		return s[1], s[0]
	}
	return s[0], s[1]
}

// addBroadcast adds (or, unless add, copies) the broadcast strides cs of c
// over the m×n out.
func addBroadcast(out, c []float32, m, n int, cs []int, add bool) {
	for i := range m {
		row := out[i*n : (i+1)*n]
		for j := range row {
			v := c[i*cs[0]+j*cs[1]]
			if add {
				v += row[j]
			}
			row[j] = v
		}
	}
}

// matrix returns input i, a 2-D matrix, multiplied by s and whether it is
// still to be read transposed. A constant is transposed (when trans) and
// scaled once per program; a graph value is left as it is (s must then be
// 1), to be read transposed when trans.
func (c *nodeCtx) matrix(i int, role string, trans bool, s float32) (*gg.Node, bool, *constTensor, error) {
	v, err := c.arg(i)
	if err != nil {
		return nil, false, nil, err
	}
	if len(v.shape()) != 2 {
		return nil, false, nil, fmt.Errorf("%s must be a matrix, got shape %v", role, v.shape())
	}
	if v.konst == nil {
		return v.node, trans, nil, nil
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
	}, v.konst)
	if err != nil {
		return nil, false, nil, err
	}
	n, err := c.constNode(d)
	return n, false, d, err
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
	}, v.konst)
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

// buildMatMul is numpy's matmul: 1-D operands are promoted (and the added
// axes dropped from the result), and the batch axes broadcast. A left
// operand of any rank times a matrix is one product over its flattened
// rows; otherwise there is one product per batch entry. All run on the
// blocked sgemm.
func buildMatMul(c *nodeCtx) (*value, error) {
	a, b, err := c.twoNodes()
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
	m, k, n := sa[len(sa)-2], sa[len(sa)-1], sb[len(sb)-1]
	if k != sb[len(sb)-2] {
		return nil, fmt.Errorf("shapes %v and %v do not multiply", a.Shape(), b.Shape())
	}
	batchA, batchB := sa[:len(sa)-2], sb[:len(sb)-2]
	batch, err := broadcastShape(batchA, batchB)
	if err != nil {
		return nil, fmt.Errorf("batch axes of %v and %v: %w", a.Shape(), b.Shape(), err)
	}
	final := append([]int(nil), batch...)
	if !squeezeA {
		final = append(final, m)
	}
	if !squeezeB {
		final = append(final, n)
	}
	if len(batchB) == 0 {
		// One product: the left operand's batch axes are just more rows.
		rows := numElems(batchA) * m
		return c.apply(final, func(out []float32, ins [][]float32) {
			sgemm(rows, n, k, matView{data: ins[0], ld: k}, matView{data: ins[1], ld: n}, out, n, false)
		}, a, b)
	}
	strA, strB := broadcastStrides(batchA, batch), broadcastStrides(batchB, batch)
	return c.apply(final, func(out []float32, ins [][]float32) {
		idx := make([]int, len(batch))
		for o := range numElems(batch) {
			offA, offB := 0, 0
			for d, i := range idx {
				offA += i * strA[d]
				offB += i * strB[d]
			}
			sgemm(m, n, k, matView{data: ins[0][offA*m*k:], ld: k}, matView{data: ins[1][offB*k*n:], ld: n}, out[o*m*n:], n, false)
			for d := len(batch) - 1; d >= 0; d-- {
				if idx[d]++; idx[d] < batch[d] {
					break
				}
				idx[d] = 0
			}
		}
	}, a, b)
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
