package gorgonia

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	gg "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// kernelFunc computes one op: it fills out (zeroed, of the op's output
// shape) from the inputs (row-major, of the op's input shapes).
type kernelFunc func(out []float32, ins [][]float32)

// kernelOp is the generic custom op most ops of this package are built
// from: fixed input and output shapes (graphs are built per input shape)
// and a Go function. Its name carries the node index, so two ops never
// merge unless they are the same node's.
type kernelOp struct {
	opBase
	name string
	ins  [][]int
	out  []int
	fn   kernelFunc
}

func (op *kernelOp) Arity() int { return len(op.ins) }
func (op *kernelOp) Type() hm.Type {
	ts := make(hm.Types, 0, len(op.ins)+1)
	for _, s := range op.ins {
		ts = append(ts, tensorType(len(s)))
	}
	return hm.NewFnType(append(ts, tensorType(len(op.out)))...)
}
func (op *kernelOp) InferShape(...gg.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(append([]int(nil), op.out...)), nil
}
func (op *kernelOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *kernelOp) Hashcode() uint32      { return hashOf(op) }
func (op *kernelOp) String() string        { return fmt.Sprintf("%s%v→%v", op.name, op.ins, op.out) }

func (op *kernelOp) Do(vals ...gg.Value) (v gg.Value, err error) {
	defer recoverInto(op, &err)
	ins := make([][]float32, len(vals))
	for i, val := range vals {
		if ins[i], _, err = f32Data(val); err != nil {
			return nil, err
		}
		if len(ins[i]) != numElems(op.ins[i]) {
			return nil, fmt.Errorf("%v: input %d holds %d elements", op, i, len(ins[i]))
		}
	}
	out := make([]float32, numElems(op.out))
	op.fn(out, ins)
	return newDense(op.out, out), nil
}

// apply adds a kernel op for this node to the graph: fn over the inputs,
// producing a tensor of shape out. A rank-0 result is kept as shape [1].
func (c *nodeCtx) apply(out []int, fn kernelFunc, inputs ...*gg.Node) (*value, error) {
	if len(out) == 0 {
		out = []int{1}
	}
	return nodeValue(c.applyNamed(c.role, out, fn, inputs...))
}

// applyNamed is apply with a role in the op's name, for nodes that add more
// than one kernel op.
func (c *nodeCtx) applyNamed(role string, out []int, fn kernelFunc, inputs ...*gg.Node) (*gg.Node, error) {
	name := fmt.Sprintf("%s#%d", c.proto.GetOpType(), c.index)
	if role != "" {
		name += "/" + role
	}
	op := &kernelOp{name: name, out: append([]int(nil), out...), fn: fn}
	for _, n := range inputs {
		op.ins = append(op.ins, append([]int(nil), n.Shape()...))
	}
	return gg.ApplyOp(op, inputs...)
}

// compute is apply for ops that may also fold at build time: when every
// input is a constant, fn runs now and the result is a constant (integer
// when the first input is, as shape arithmetic needs); otherwise it is a
// kernel op of the graph.
func (c *nodeCtx) compute(out []int, fn kernelFunc, vals ...*value) (*value, error) {
	folded := true
	for _, v := range vals {
		folded = folded && v.konst != nil
	}
	if !folded {
		nodes := make([]*gg.Node, len(vals))
		for i, v := range vals {
			n, err := c.nodeOf(v)
			if err != nil {
				return nil, err
			}
			nodes[i] = n
		}
		return c.apply(out, fn, nodes...)
	}
	ins := make([][]float32, len(vals))
	for i, v := range vals {
		ins[i] = v.konst.f32
		if v.konst.isInt {
			ins[i] = make([]float32, len(v.konst.i64))
			for j, x := range v.konst.i64 {
				ins[i][j] = float32(x)
			}
		}
	}
	res := &constTensor{shape: append([]int{}, out...), f32: make([]float32, numElems(out))}
	fn(res.f32, ins)
	if vals[0].konst.isInt {
		res.isInt, res.i64 = true, make([]int64, len(res.f32))
		for j, x := range res.f32 {
			res.i64[j] = int64(x)
		}
		res.f32 = nil
	}
	return &value{konst: res}, nil
}
