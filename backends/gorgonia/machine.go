package gorgonia

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	gg "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/tiffin-ml/tiffin/backends"
)

// machine is one compiled graph: the program built for one set of input
// shapes (and integer input values), with its tape machine.
type machine struct {
	key     string       // the inputs, as shapeKey renders them
	vm      gg.VM        // nil for a graph without nodes
	inputs  []*gg.Node   // one per metadata input; nil for one that is a constant
	outputs []outputSlot // one per metadata output
	sink    *collectOp   // nil when every output is a constant
}

// outputSlot says where one output comes from.
type outputSlot struct {
	shape    []int
	constant bool   // the output is known at build time: its bytes are konst
	konst    []byte // (little-endian, of the output's datatype); else
	index    int    // the sink's input holding it
}

// collect points every metadata output at its value, checks its shape
// against the declared one, and adds the sink that copies the outputs out.
// An integer output must be a constant: the graph computes FP32 only.
func (m *machine) collect(b *graphBuilder, p *program) error {
	var nodes []*gg.Node
	seen := make(map[*gg.Node]int)
	for _, spec := range p.meta.Outputs {
		v := b.vals[spec.Name]
		if v.err != nil {
			return fmt.Errorf("model %q: output %q: %w", p.model, spec.Name, v.err)
		}
		if v.isSeq {
			return fmt.Errorf("model %q: output %q is a sequence; the gorgonia backend returns tensors only", p.model, spec.Name)
		}
		slot := outputSlot{shape: v.shape(), constant: v.node == nil}
		if !fits(slot.shape, spec.Shape) {
			return fmt.Errorf("model %q: output %q: computed shape %v does not match the declared %v", p.model, spec.Name, slot.shape, spec.Shape)
		}
		switch {
		case isIntType(spec.DataType) && v.node != nil:
			return fmt.Errorf("model %q: output %q (%s) is computed when the model runs; the gorgonia backend returns integer outputs only when they are known as the graph is built (a SequenceLength, a Shape, arithmetic on integer inputs)", p.model, spec.Name, spec.DataType)
		case isIntType(spec.DataType):
			data, err := v.konst.ints(fmt.Sprintf("output %q", spec.Name))
			if err != nil {
				return fmt.Errorf("model %q: %w", p.model, err)
			}
			if slot.konst, err = intBytes(data, spec.DataType); err != nil {
				return fmt.Errorf("model %q: output %q: %w", p.model, spec.Name, err)
			}
		case v.node == nil:
			data, err := v.konst.floats(fmt.Sprintf("output %q", spec.Name))
			if err != nil {
				return fmt.Errorf("model %q: %w", p.model, err)
			}
			slot.konst = f32Bytes(data)
		default:
			j, ok := seen[v.node]
			if !ok {
				j = len(nodes)
				seen[v.node] = j
				nodes = append(nodes, v.node)
			}
			slot.index = j
		}
		m.outputs = append(m.outputs, slot)
	}
	if len(nodes) == 0 {
		return nil
	}
	m.sink = newCollectOp(nodes)
	if _, err := gg.ApplyOp(m.sink, nodes...); err != nil {
		return fmt.Errorf("model %q: collecting the outputs: %w", p.model, err)
	}
	return nil
}

// fits reports whether shape matches want, a declared shape whose -1 axes
// match anything; a nil want (unknown rank) matches every shape.
func fits(shape []int, want []int64) bool {
	if want == nil {
		return true
	}
	if len(shape) != len(want) {
		return false
	}
	for i, d := range want {
		if d >= 0 && int64(shape[i]) != d {
			return false
		}
	}
	return true
}

// run executes the graph on inputs, which must have the machine's shapes
// (and integer values), and returns the outputs named by specs.
func (m *machine) run(inputs []backends.Tensor, specs []backends.TensorSpec) ([]backends.Tensor, error) {
	if m.vm != nil {
		m.vm.Reset()
		defer m.vm.Reset()
	}
	for i, n := range m.inputs {
		if n == nil {
			continue // a constant of the graph
		}
		t := tensor.New(tensor.WithShape(n.Shape().Clone()...), tensor.WithBacking(bytesF32(inputs[i].Data)))
		if err := gg.Let(n, t); err != nil {
			return nil, fmt.Errorf("binding input %q: %w", specs[i].Name, err)
		}
	}
	if m.sink != nil {
		m.sink.out = nil
		if err := m.vm.RunAll(); err != nil {
			return nil, fmt.Errorf("running: %w", err)
		}
		if m.sink.out == nil {
			return nil, errors.New("running: the graph produced no outputs")
		}
	}
	outs := make([]backends.Tensor, len(m.outputs))
	var taken []bool // sink results already handed out, copied if asked again
	if m.sink != nil {
		taken = make([]bool, len(m.sink.out))
	}
	for i, o := range m.outputs {
		var data []byte
		if o.constant {
			data = slices.Clone(o.konst)
		} else {
			data = m.sink.out[o.index]
			if taken[o.index] {
				data = slices.Clone(data)
			}
			taken[o.index] = true
		}
		outs[i] = backends.Tensor{Name: specs[i].Name, DataType: specs[i].DataType, Shape: toInt64s(o.shape), Data: data}
	}
	if m.sink != nil {
		m.sink.out = nil
	}
	return outs, nil
}

// close releases the tape machine.
func (m *machine) close() error {
	if m.vm == nil {
		return nil
	}
	return m.vm.Close()
}

func toInt64s(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

// shapeKey renders the inputs a graph is built for into buf: the shape of
// each, as "1x16;", and for an integer input its values too, as
// "1x3=4,0,2;" (a scalar: "=7;").
func shapeKey(buf []byte, inputs []backends.Tensor) []byte {
	buf = buf[:0]
	for _, t := range inputs {
		for j, d := range t.Shape {
			if j > 0 {
				buf = append(buf, 'x')
			}
			buf = strconv.AppendInt(buf, d, 10)
		}
		if isIntType(t.DataType) {
			buf = append(buf, '=')
			for j, v := range intsOf(t) {
				if j > 0 {
					buf = append(buf, ',')
				}
				buf = strconv.AppendInt(buf, v, 10)
			}
		}
		buf = append(buf, ';')
	}
	return buf
}

// isIntType reports whether dt is an integer datatype the backend takes as
// build-time constants (INT64, INT32).
func isIntType(dt backends.DataType) bool { return dt == backends.Int64 || dt == backends.Int32 }

// intsOf decodes an INT64 or INT32 tensor's little-endian data.
func intsOf(t backends.Tensor) []int64 {
	if t.DataType == backends.Int32 {
		vs := make([]int64, len(t.Data)/4)
		for i := range vs {
			vs[i] = int64(int32(binary.LittleEndian.Uint32(t.Data[4*i:])))
		}
		return vs
	}
	vs := make([]int64, len(t.Data)/8)
	for i := range vs {
		vs[i] = int64(binary.LittleEndian.Uint64(t.Data[8*i:]))
	}
	return vs
}

// intBytes encodes vs as little-endian INT64 or INT32 bytes.
func intBytes(vs []int64, dt backends.DataType) ([]byte, error) {
	if dt == backends.Int32 {
		b := make([]byte, 4*len(vs))
		for i, v := range vs {
			if v != int64(int32(v)) {
				return nil, fmt.Errorf("value %d does not fit INT32", v)
			}
			binary.LittleEndian.PutUint32(b[4*i:], uint32(int32(v)))
		}
		return b, nil
	}
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return b, nil
}

// f32Bytes encodes vs as little-endian bytes.
func f32Bytes(vs []float32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// bytesF32 decodes little-endian FP32 bytes into a new slice.
func bytesF32(b []byte) []float32 {
	vs := make([]float32, len(b)/4)
	for i := range vs {
		vs[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return vs
}

// machineCache keeps the most recently used machines of one instance,
// most recent first. It is small (a handful of shapes), so a slice beats a
// map and a list.
type machineCache struct {
	max      int
	machines []*machine
}

// get returns the machine for key, making it the most recent, or nil.
func (c *machineCache) get(key []byte) *machine {
	for i, m := range c.machines {
		if m.key == string(key) {
			copy(c.machines[1:i+1], c.machines[:i])
			c.machines[0] = m
			return m
		}
	}
	return nil
}

// put adds m as the most recent machine and returns the one it evicts, if
// any.
func (c *machineCache) put(m *machine) (evicted *machine) {
	if len(c.machines) >= c.max {
		evicted = c.machines[len(c.machines)-1]
		c.machines = c.machines[:len(c.machines)-1]
	}
	c.machines = slices.Insert(c.machines, 0, m)
	return evicted
}

// closeAll closes and drops every machine.
func (c *machineCache) closeAll() error {
	var errs []error
	for _, m := range c.machines {
		errs = append(errs, m.close())
	}
	c.machines = nil
	return errors.Join(errs...)
}
