package gorgonia

import (
	"fmt"
	"hash"
	"hash/fnv"
	"io"

	"github.com/chewxy/hm"
	gg "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The custom gorgonia Ops of this package share these conventions:
//
//   - They never write into their inputs and never return an input or a view
//     of one (ReturnsPtr false, OverwritesInput -1): they allocate their
//     result. Gorgonia's own Reshape returns a view of its input that later
//     in-place ops may then write through, clobbering the input; a copy is
//     cheap next to that hazard.
//   - Every parameter is fixed when the op is built for one graph (graphs are
//     built per input shape), and String lists them all, so hashing by String
//     never merges two different ops.
//   - Do recovers from panics and returns them as errors, because gorgonia's
//     tape machine runs the instructions on a goroutine of its own, where a
//     panic could not be recovered by the caller.

// opBase holds the Op methods the custom ops share.
type opBase struct{}

func (opBase) ReturnsPtr() bool     { return false }
func (opBase) CallsExtern() bool    { return false }
func (opBase) OverwritesInput() int { return -1 }

func writeHash(h hash.Hash, s fmt.Stringer) { _, _ = io.WriteString(h, s.String()) } // a hash never fails a write

func hashOf(s fmt.Stringer) uint32 {
	h := fnv.New32a()
	writeHash(h, s)
	return h.Sum32()
}

// tensorType is the type of a tensor of rank dims whose element type is the
// type variable a (float32 throughout this package).
func tensorType(dims int) hm.Type {
	return gg.TensorType{Dims: dims, Of: hm.TypeVariable('a')}
}

// recoverInto turns a panic into an error returned through err.
func recoverInto(op fmt.Stringer, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%v: panic: %v", op, r)
	}
}

// f32Data returns the float32 elements of v, row-major, and its shape.
func f32Data(v gg.Value) ([]float32, tensor.Shape, error) {
	d, ok := v.(*tensor.Dense)
	if !ok {
		return nil, nil, fmt.Errorf("expected a dense tensor, got %T", v)
	}
	if d.IsMaterializable() {
		d = d.Materialize().(*tensor.Dense)
	}
	switch data := d.Data().(type) {
	case []float32:
		return data, d.Shape(), nil
	case float32:
		return []float32{data}, d.Shape(), nil
	default:
		return nil, nil, fmt.Errorf("expected float32 data, got %T", data)
	}
}

// newDense wraps data, which it takes over, as a tensor of shape.
func newDense(shape []int, data []float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(append([]int(nil), shape...)...), tensor.WithBacking(data))
}

// reshapeOp is ONNX Reshape/Flatten as a copy (see the conventions above for
// why not gorgonia's Reshape).
type reshapeOp struct {
	opBase
	from, to []int
}

func (op *reshapeOp) Arity() int { return 1 }
func (op *reshapeOp) Type() hm.Type {
	return hm.NewFnType(tensorType(len(op.from)), tensorType(len(op.to)))
}
func (op *reshapeOp) InferShape(...gg.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(append([]int(nil), op.to...)), nil
}
func (op *reshapeOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *reshapeOp) Hashcode() uint32      { return hashOf(op) }
func (op *reshapeOp) String() string        { return fmt.Sprintf("OnnxReshape%v→%v", op.from, op.to) }

func (op *reshapeOp) Do(vals ...gg.Value) (v gg.Value, err error) {
	defer recoverInto(op, &err)
	data, _, err := f32Data(vals[0])
	if err != nil {
		return nil, err
	}
	if len(data) != numElems(op.to) {
		return nil, fmt.Errorf("%v: input holds %d elements", op, len(data))
	}
	return newDense(op.to, append([]float32(nil), data...)), nil
}

// collectOp is the sink of every graph: its inputs are the graph outputs,
// and it copies them out as they are when it runs. Being their last reader
// keeps every output alive (gorgonia would otherwise let a later in-place op
// reuse an output's memory), and copying in Do, on the machine's goroutine,
// keeps the results safe from anything that runs after it.
type collectOp struct {
	opBase
	ranks []int
	out   [][]byte // filled by Do, one per input, as little-endian FP32
	dummy gg.Value // the value the op returns; nothing reads it
}

func newCollectOp(nodes []*gg.Node) *collectOp {
	op := &collectOp{dummy: newDense([]int{1}, []float32{0})}
	for _, n := range nodes {
		op.ranks = append(op.ranks, n.Dims())
	}
	return op
}

func (op *collectOp) Arity() int { return len(op.ranks) }
func (op *collectOp) Type() hm.Type {
	ts := make(hm.Types, 0, len(op.ranks)+1)
	for _, r := range op.ranks {
		ts = append(ts, tensorType(r))
	}
	return hm.NewFnType(append(ts, tensorType(1))...)
}
func (op *collectOp) InferShape(...gg.DimSizer) (tensor.Shape, error) { return tensor.Shape{1}, nil }
func (op *collectOp) WriteHash(h hash.Hash)                           { writeHash(h, op) }
func (op *collectOp) Hashcode() uint32                                { return hashOf(op) }
func (op *collectOp) String() string                                  { return fmt.Sprintf("Collect%v", op.ranks) }

func (op *collectOp) Do(vals ...gg.Value) (v gg.Value, err error) {
	defer recoverInto(op, &err)
	op.out = make([][]byte, len(vals))
	for i, val := range vals {
		data, _, err := f32Data(val)
		if err != nil {
			return nil, err
		}
		op.out[i] = f32Bytes(data)
	}
	return op.dummy, nil
}
