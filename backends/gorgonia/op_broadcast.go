package gorgonia

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	gg "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// binKind is an elementwise arithmetic operator.
type binKind uint8

const (
	binAdd binKind = iota
	binSub
	binMul
	binDiv
	binPow // no native op from here on
	binMax
	binMin
	binPRelu // a < 0 ? a·b : a
)

func (k binKind) String() string {
	return [...]string{"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "PRelu"}[k]
}

// broadcastShape is the ONNX (numpy) multidirectional broadcast of a and b:
// shapes are aligned at their last axis, and on each axis the sizes must be
// equal or one of them 1.
func broadcastShape(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := dimFromEnd(a, n-1-i), dimFromEnd(b, n-1-i)
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v cannot be broadcast together", a, b)
		}
	}
	return out, nil
}

// dimFromEnd is shape's axis k counting from the last (0), 1 past its rank.
func dimFromEnd(shape []int, k int) int {
	if k >= len(shape) {
		return 1
	}
	return shape[len(shape)-1-k]
}

// broadcastStrides gives, for each axis of out, the stride of an operand of
// shape s aligned to it: 0 on the axes it is broadcast along.
func broadcastStrides(s, out []int) []int {
	strides := make([]int, len(out))
	step := 1
	for k := 0; k < len(out); k++ {
		i := len(out) - 1 - k
		if d := dimFromEnd(s, k); d != 1 {
			strides[i] = step
			step *= d
		}
	}
	return strides
}

// broadcastOp is Add, Sub, Mul or Div with ONNX broadcasting. It is a custom
// op because gorgonia's broadcasting (BroadcastAdd and friends) needs an
// explicit pattern, handles at most 4 axes, and materialises the broadcast
// operand with Repeat; same-shape operands use gorgonia's own ops instead.
type broadcastOp struct {
	opBase
	kind      binKind
	a, b, out []int
	sa, sb    []int // broadcast strides of a and b over out
}

func newBroadcastOp(kind binKind, a, b []int) (*broadcastOp, error) {
	out, err := broadcastShape(a, b)
	if err != nil {
		return nil, err
	}
	return &broadcastOp{kind: kind, a: a, b: b, out: out,
		sa: broadcastStrides(a, out), sb: broadcastStrides(b, out)}, nil
}

func (op *broadcastOp) Arity() int { return 2 }
func (op *broadcastOp) Type() hm.Type {
	return hm.NewFnType(tensorType(len(op.a)), tensorType(len(op.b)), tensorType(len(op.out)))
}
func (op *broadcastOp) InferShape(...gg.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(append([]int(nil), op.out...)), nil
}
func (op *broadcastOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *broadcastOp) Hashcode() uint32      { return hashOf(op) }
func (op *broadcastOp) String() string {
	return fmt.Sprintf("Broadcast%v(%v,%v)", op.kind, op.a, op.b)
}

func (op *broadcastOp) Do(vals ...gg.Value) (v gg.Value, err error) {
	defer recoverInto(op, &err)
	a, _, err := f32Data(vals[0])
	if err != nil {
		return nil, err
	}
	b, _, err := f32Data(vals[1])
	if err != nil {
		return nil, err
	}
	if len(a) != numElems(op.a) || len(b) != numElems(op.b) {
		return nil, fmt.Errorf("%v: got %d and %d elements", op, len(a), len(b))
	}
	out := make([]float32, numElems(op.out))
	op.apply(out, a, b)
	return newDense(op.out, out), nil
}

// apply walks out one row (its last axis) at a time, keeping the offsets of
// a and b with an odometer over the outer axes.
func (op *broadcastOp) apply(out, a, b []float32) {
	last := len(op.out) - 1
	inner := op.out[last]
	if inner == 0 {
		return
	}
	idx := make([]int, last)
	offA, offB := 0, 0
	for r := 0; r < len(out)/inner; r++ {
		binRow(op.kind, out[r*inner:(r+1)*inner], a[offA:], op.sa[last], b[offB:], op.sb[last])
		for d := last - 1; d >= 0; d-- {
			idx[d]++
			offA += op.sa[d]
			offB += op.sb[d]
			if idx[d] < op.out[d] {
				break
			}
			offA -= op.sa[d] * op.out[d]
			offB -= op.sb[d] * op.out[d]
			idx[d] = 0
		}
	}
}

// binRow computes dst[i] = a[i*sa] op b[i*sb]; the strides are 0 or 1.
func binRow(kind binKind, dst, a []float32, sa int, b []float32, sb int) {
	switch kind {
	case binAdd:
		for i := range dst {
			dst[i] = a[i*sa] + b[i*sb]
		}
	case binSub:
		for i := range dst {
			dst[i] = a[i*sa] - b[i*sb]
		}
	case binMul:
		for i := range dst {
			dst[i] = a[i*sa] * b[i*sb]
		}
	case binDiv:
		for i := range dst {
			dst[i] = a[i*sa] / b[i*sb]
		}
	case binPow:
		for i := range dst {
			dst[i] = float32(math.Pow(float64(a[i*sa]), float64(b[i*sb])))
		}
	case binMax:
		for i := range dst {
			dst[i] = max(a[i*sa], b[i*sb])
		}
	case binMin:
		for i := range dst {
			dst[i] = min(a[i*sa], b[i*sb])
		}
	case binPRelu:
		for i := range dst {
			if x := a[i*sa]; x < 0 {
				dst[i] = x * b[i*sb]
			} else {
				dst[i] = x
			}
		}
	}
}

// foldIntInputs folds an arithmetic node whose inputs are all integer
// constants (shape arithmetic, or arithmetic on integer model inputs),
// exactly, in int64: ok is false when they are not.
func (c *nodeCtx) foldIntInputs(kind binKind) (v *value, ok bool, err error) {
	var ks []*constTensor
	for i := range c.in {
		k, isConst := c.konst(i)
		if !isConst || !k.isInt {
			return nil, false, nil
		}
		ks = append(ks, k)
	}
	if len(ks) == 0 {
		return nil, false, nil
	}
	acc := ks[0]
	for _, k := range ks[1:] {
		if acc, err = foldInts(kind, acc, k); err != nil {
			return nil, true, err
		}
	}
	return &value{konst: acc}, true, nil
}

// foldInts applies kind to the integer constants a and b, with numpy
// broadcasting. Div truncates, as C does.
func foldInts(kind binKind, a, b *constTensor) (*constTensor, error) {
	out, err := broadcastShape(a.shape, b.shape)
	if err != nil {
		return nil, err
	}
	offsets := func(s []int) []int {
		st := broadcastStrides(s, out)
		return gatherIndex(out, func(idx []int) int {
			off := 0
			for d, i := range idx {
				off += i * st[d]
			}
			return off
		})
	}
	ia, ib := offsets(a.shape), offsets(b.shape)
	res := &constTensor{shape: out, isInt: true, i64: make([]int64, len(ia))}
	for o := range res.i64 {
		x, y := a.i64[ia[o]], b.i64[ib[o]]
		switch kind {
		case binAdd:
			res.i64[o] = x + y
		case binSub:
			res.i64[o] = x - y
		case binMul:
			res.i64[o] = x * y
		case binDiv:
			if y == 0 {
				return nil, fmt.Errorf("integer division by zero")
			}
			res.i64[o] = x / y
		case binMax:
			res.i64[o] = max(x, y)
		case binMin:
			res.i64[o] = min(x, y)
		default:
			return nil, fmt.Errorf("%v on integer tensors is not supported by the gorgonia backend", kind)
		}
	}
	return res, nil
}
