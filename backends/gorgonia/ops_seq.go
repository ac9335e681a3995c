package gorgonia

import (
	"fmt"
	"slices"
)

// The sequence ops. A sequence is a list known when the graph is built
// (value.isSeq, value.seq): the ops that make and change one work on the
// list, and its elements are ordinary values, graph nodes or constants.
// Positions must therefore be constants (an initializer, a Constant, or an
// integer model input, which is one). A sequence never leaves the graph:
// model inputs and outputs are tensors.

// seqFirst are the ops whose input 0 is a sequence; every other input of
// every op is a tensor, and Identity passes either (nodeCtxOf checks).
var seqFirst = map[string]bool{
	"SequenceInsert": true, "SequenceErase": true, "SequenceAt": true,
	"SequenceLength": true, "ConcatFromSequence": true,
}

func seqValue(elems []*value) *value { return &value{isSeq: true, seq: elems} }

// buildSequenceEmpty is an empty list; its dtype attribute does not matter
// until elements are inserted, and they are checked where they are used.
func buildSequenceEmpty(c *nodeCtx) (*value, error) {
	if _, err := c.attrs.int("dtype", 1); err != nil {
		return nil, err
	}
	return seqValue(nil), nil
}

// buildSequenceConstruct lists its inputs.
func buildSequenceConstruct(c *nodeCtx) (*value, error) {
	elems := make([]*value, len(c.in))
	for i := range c.in {
		v, err := c.arg(i)
		if err != nil {
			return nil, err
		}
		elems[i] = v
	}
	if len(elems) == 0 {
		return nil, fmt.Errorf("no inputs")
	}
	return seqValue(elems), nil
}

// buildSequenceInsert inserts the tensor at position (default: at the end),
// in [-n, n].
func buildSequenceInsert(c *nodeCtx) (*value, error) {
	s, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	t, err := c.arg(1)
	if err != nil {
		return nil, err
	}
	n := len(s.seq)
	at, err := c.position(2, n, n, true)
	if err != nil {
		return nil, err
	}
	return seqValue(slices.Insert(slices.Clone(s.seq), at, t)), nil
}

// buildSequenceErase drops the element at position (default: the last), in
// [-n, n-1].
func buildSequenceErase(c *nodeCtx) (*value, error) {
	s, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	n := len(s.seq)
	if n == 0 {
		return nil, fmt.Errorf("the sequence is empty")
	}
	at, err := c.position(1, n, n-1, false)
	if err != nil {
		return nil, err
	}
	return seqValue(slices.Delete(slices.Clone(s.seq), at, at+1)), nil
}

// buildSequenceAt is the element at position, in [-n, n-1].
func buildSequenceAt(c *nodeCtx) (*value, error) {
	s, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	if c.opt(1) == nil {
		return nil, fmt.Errorf("the position input is required")
	}
	n := len(s.seq)
	at, err := c.position(1, n, 0, false)
	if err != nil {
		return nil, err
	}
	return s.seq[at], nil
}

// buildSequenceLength is a build-time INT64 scalar.
func buildSequenceLength(c *nodeCtx) (*value, error) {
	s, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	return &value{konst: &constTensor{isInt: true, i64: []int64{int64(len(s.seq))}}}, nil
}

// position reads the position input i of a sequence op over n elements,
// def when it is omitted. It must be an integer constant scalar; negative
// positions count from the end; the result lies in [0, n] when inserting,
// [0, n-1] otherwise.
func (c *nodeCtx) position(i, n, def int, insert bool) (int, error) {
	if c.opt(i) == nil {
		return def, nil
	}
	k, ok := c.konst(i)
	if !ok {
		return 0, fmt.Errorf("position (input %d) must be a constant (an initializer, a Constant or an integer model input): the gorgonia backend builds sequences when it builds the graph", i)
	}
	v, err := k.ints("position")
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("position must be a scalar, got shape %v", k.shape)
	}
	hi := n - 1
	if insert {
		hi = n
	}
	p := v[0]
	if p < -int64(n) || p > int64(hi) {
		return 0, fmt.Errorf("position %d is out of range for a sequence of %d elements", p, n)
	}
	if p < 0 {
		p += int64(n)
	}
	return int(p), nil
}

// buildSplitToSequence cuts the input along axis (default 0) into a
// sequence: by split, a constant scalar (parts of that size, the last one
// smaller when the axis does not divide) or vector (the sizes, which may be
// 0); without split, into parts of size 1, which drop the axis unless
// keepdims (default 1). It reuses Split's kernels (splitParts).
func buildSplitToSequence(c *nodeCtx) (*value, error) {
	x, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	in := x.shape()
	axis, err := c.axisAttr(0, len(in))
	if err != nil {
		return nil, err
	}
	keep, err := c.attrs.int("keepdims", 1)
	if err != nil {
		return nil, err
	}
	d := in[axis]
	var sizes []int
	squeeze := false
	switch k, ok := c.konst(1); {
	case c.opt(1) == nil:
		for range d {
			sizes = append(sizes, 1)
		}
		squeeze = keep == 0
	case !ok:
		return nil, fmt.Errorf("split (input 1) must be a constant (an initializer, a Constant or an integer model input)")
	default:
		vs, err := k.ints("split")
		if err != nil {
			return nil, err
		}
		switch len(k.shape) {
		case 0:
			chunk := int(vs[0])
			if chunk <= 0 {
				return nil, fmt.Errorf("split %d: the size must be positive", chunk)
			}
			for left := d; left > 0; left -= chunk {
				sizes = append(sizes, min(chunk, left))
			}
		case 1:
			total := 0
			for _, s := range vs {
				if s < 0 {
					return nil, fmt.Errorf("split %v: sizes must not be negative", vs)
				}
				sizes = append(sizes, int(s))
				total += int(s)
			}
			if total != d {
				return nil, fmt.Errorf("split %v does not add up to axis %d of %v", vs, axis, in)
			}
		default:
			return nil, fmt.Errorf("split must be a scalar or a vector, got shape %v", k.shape)
		}
	}
	elems, err := c.splitParts(x, axis, sizes, squeeze)
	if err != nil {
		return nil, err
	}
	return seqValue(elems), nil
}

// buildConcatFromSequence joins the elements along axis (required), or,
// with new_axis, stacks them along a new axis there (then axis may be -r-1
// to r for elements of rank r). It reuses Concat's kernel: an element with
// a new axis of 1 is laid out as it is.
func buildConcatFromSequence(c *nodeCtx) (*value, error) {
	s, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	if !c.attrs.has("axis") {
		return nil, fmt.Errorf("the axis attribute is required")
	}
	a, err := c.attrs.int("axis", 0)
	if err != nil {
		return nil, err
	}
	newAxis, err := c.attrs.int("new_axis", 0)
	if err != nil {
		return nil, err
	}
	if len(s.seq) == 0 {
		return nil, fmt.Errorf("the sequence is empty")
	}
	rank := len(s.seq[0].shape())
	if newAxis != 0 {
		rank++
	}
	axis, err := normAxis(int(a), rank)
	if err != nil {
		return nil, err
	}
	shapes := make([][]int, len(s.seq))
	for i, v := range s.seq {
		shapes[i] = v.shape()
		if newAxis != 0 {
			shapes[i] = slices.Insert(slices.Clone(shapes[i]), min(axis, len(shapes[i])), 1)
		}
	}
	return c.concat(s.seq, shapes, axis)
}
