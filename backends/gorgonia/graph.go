package gorgonia

import (
	"fmt"
	"sync"

	gg "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

// buildMu serialises graph construction and compilation process-wide.
// Gorgonia keeps a little global state that building touches without locks
// (shared constant nodes such as the zero of Rectify, whose hashes are
// computed lazily, and the group counter of its graph encoding); the race
// detector sees both when instances build concurrently. Building is rare (a
// Load, or a new input shape), so one lock costs nothing. Running is not
// serialised.
var buildMu sync.Mutex

// value is an ONNX value while a graph is built: a node of the graph, a
// tensor known at build time, or a sequence.
type value struct {
	node  *gg.Node
	konst *constTensor
	cnode *gg.Node // konst as a node of this graph, once something needs it
	err   error    // an initializer that could not be decoded
	// isSeq marks a sequence (ops_seq.go): a list known at build time
	// whose elements, in seq, are tensor values. node and konst are nil.
	isSeq bool
	seq   []*value
}

// shape is the value's shape; for a constant, its ONNX shape (a scalar's is
// empty, while its node has shape [1]).
func (v *value) shape() []int {
	if v.node != nil {
		return append([]int(nil), v.node.Shape()...)
	}
	return v.konst.shape
}

// graphBuilder builds the expression graph of a program for one set of
// input shapes.
type graphBuilder struct {
	p     *program
	g     *gg.ExprGraph
	vals  map[string]*value
	names int // counter for unique constant node names
	// fused holds the nodes an earlier node computed as part of itself
	// (a BatchNormalization or Relu after a Conv): their output's value.
	fused map[int]*value
}

// nodeCtx is what an op builder sees of one ONNX node.
type nodeCtx struct {
	*graphBuilder
	index int
	proto *onnxpb.NodeProto
	in    []*value // nil for omitted optional inputs
	attrs attrs
	// more is set by builders of ops with several outputs (Split): the
	// values of outputs 1 and on.
	more []*value
	// role tells apart the kernel ops one node adds (Split's parts).
	role string
}

// buildGraph builds the graph of p, and a tape machine for it, for inputs
// (in metadata order) of these shapes. Integer inputs are build-time
// constants, so their values (Data) are part of the graph too, as are empty
// FP32 inputs (which hold no values); only the other FP32 inputs are the
// graph's inputs, and only their shapes count.
func buildGraph(p *program, inputs []backends.Tensor) (m *machine, err error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("model %q: building the graph for inputs %s: gorgonia panicked: %v", p.model, shapeKey(nil, inputs), r)
		}
	}()
	b := &graphBuilder{p: p, g: gg.NewGraph(), vals: make(map[string]*value), fused: make(map[int]*value)}
	for name, c := range p.inits {
		b.vals[name] = &value{konst: c}
	}
	for name, e := range p.initErr {
		b.vals[name] = &value{err: e}
	}
	m = &machine{inputs: make([]*gg.Node, len(inputs))}
	for i, spec := range p.meta.Inputs {
		shape := make([]int, len(inputs[i].Shape))
		for j, d := range inputs[i].Shape {
			shape[j] = int(d)
		}
		switch {
		case isIntType(spec.DataType):
			b.vals[spec.Name] = &value{konst: &constTensor{shape: shape, isInt: true, i64: intsOf(inputs[i])}}
		case numElems(shape) == 0:
			b.vals[spec.Name] = &value{konst: emptyConst(shape, false)}
		default:
			n := gg.NewTensor(b.g, tensor.Float32, len(shape), gg.WithShape(shape...), gg.WithName("input:"+spec.Name))
			m.inputs[i] = n
			b.vals[spec.Name] = &value{node: n}
		}
	}
	for i, n := range p.nodes {
		if err := b.buildNode(i, n); err != nil {
			return nil, err
		}
	}
	if err := m.collect(b, p); err != nil {
		return nil, err
	}
	if len(b.g.AllNodes()) > 0 { // else every input and output is a constant
		m.vm = gg.NewTapeMachine(b.g)
	}
	return m, nil
}

// buildNode adds one ONNX node to the graph. Errors, and panics from
// gorgonia, come back naming the model, the node and its op.
func (b *graphBuilder) buildNode(i int, n *onnxpb.NodeProto) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: gorgonia panicked: %v", n.GetOpType(), r)
		}
		if err != nil {
			err = b.p.nodeErr(i, err)
		}
	}()
	if v, ok := b.fused[i]; ok {
		b.vals[n.GetOutput()[0]] = v
		return nil
	}
	c, err := b.nodeCtxOf(i, "")
	if err != nil {
		return err
	}
	outs := n.GetOutput()
	if len(outs) == 0 || outs[0] == "" {
		return fmt.Errorf("%s: the node has no output", n.GetOpType())
	}
	v, err := opBuilders[n.GetOpType()](c)
	if err != nil {
		return fmt.Errorf("%s: %w", n.GetOpType(), err)
	}
	b.vals[outs[0]] = v
	for j, out := range outs[1:] {
		switch {
		case out == "":
		case j < len(c.more):
			b.vals[out] = c.more[j]
		default:
			return fmt.Errorf("%s: output %d (%q) is not supported by the gorgonia backend (only the first output is)", n.GetOpType(), j+1, out)
		}
	}
	if c.fixedInputs() {
		for _, out := range append([]*value{v}, c.more...) {
			if out != nil && out.konst != nil {
				out.konst.fixed = true
			}
		}
	}
	return nil
}

// fixedInputs reports whether every input of the node is a fixed constant
// (constTensor.fixed), so that what it computes from them is fixed too.
func (c *nodeCtx) fixedInputs() bool {
	for _, v := range c.in {
		if v != nil && (v.konst == nil || !v.konst.fixed) {
			return false
		}
	}
	return true
}

// nodeCtxOf gathers what node i's builder sees: its inputs, which must be
// defined by now (except pending, the output of the node being built, left
// nil), and its attributes. It checks that sequences go where the op takes
// one (seqFirst) and nowhere else, so that op builders see the kind of value
// they expect.
func (b *graphBuilder) nodeCtxOf(i int, pending string) (*nodeCtx, error) {
	n := b.p.nodes[i]
	op := n.GetOpType()
	c := &nodeCtx{graphBuilder: b, index: i, proto: n, attrs: attrsOf(n)}
	for j, name := range n.GetInput() {
		if name == "" || name == pending {
			c.in = append(c.in, nil)
			continue
		}
		v, ok := b.vals[name]
		if !ok {
			return nil, fmt.Errorf("%s: input %q is not defined", op, name)
		}
		if v.err != nil {
			return nil, fmt.Errorf("%s: input %w", op, v.err)
		}
		if want := j == 0 && seqFirst[op]; v.isSeq != want && op != "Identity" {
			if v.isSeq {
				return nil, fmt.Errorf("%s: input %q is a sequence, where the op takes a tensor", op, name)
			}
			return nil, fmt.Errorf("%s: input %q is a tensor, where the op takes a sequence", op, name)
		}
		c.in = append(c.in, v)
	}
	return c, nil
}

// soleConsumer returns the node that alone reads this node's first output
// (which is not a graph output), if there is one.
func (c *nodeCtx) soleConsumer() (int, bool) {
	users := c.p.consumers[c.proto.GetOutput()[0]]
	if len(users) != 1 || users[0] < 0 || len(c.p.nodes[users[0]].GetOutput()) == 0 {
		return 0, false
	}
	return users[0], true
}

// nodeOf returns v as a node of the graph, making a constant node of a
// constant the first time.
func (b *graphBuilder) nodeOf(v *value) (*gg.Node, error) {
	if v.node != nil {
		return v.node, nil
	}
	if v.cnode == nil {
		n, err := b.constNode(v.konst)
		if err != nil {
			return nil, err
		}
		v.cnode = n
	}
	return v.cnode, nil
}

// constNode makes a constant node holding c's data, which it shares: the
// graph never writes into input nodes (gorgonia keeps them live for the
// whole program, so no op overwrites them in place). A scalar becomes a
// node of shape [1], which broadcasts the same way. An empty constant (an
// empty input, or a part of one) has no node: the graph does not run empty
// tensors.
func (b *graphBuilder) constNode(c *constTensor) (*gg.Node, error) {
	if c.size() == 0 {
		return nil, fmt.Errorf("an empty tensor (shape %v) reaches an op that computes in the graph; the gorgonia backend does not run empty tensors", c.shape)
	}
	data, err := c.floats("constant")
	if err != nil {
		return nil, err
	}
	shape := c.shape
	if len(shape) == 0 {
		shape = []int{1}
	}
	b.names++
	t := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
	return gg.NewTensor(b.g, tensor.Float32, len(shape), gg.WithShape(shape...),
		gg.WithName(fmt.Sprintf("const:%d", b.names)), gg.WithValue(t)), nil
}

// arg returns the required input i.
func (c *nodeCtx) arg(i int) (*value, error) {
	if i >= len(c.in) || c.in[i] == nil {
		return nil, fmt.Errorf("input %d is missing", i)
	}
	return c.in[i], nil
}

// opt returns the optional input i, or nil.
func (c *nodeCtx) opt(i int) *value {
	if i >= len(c.in) {
		return nil
	}
	return c.in[i]
}

// node returns the required input i as a node.
func (c *nodeCtx) node(i int) (*gg.Node, error) {
	v, err := c.arg(i)
	if err != nil {
		return nil, err
	}
	return c.nodeOf(v)
}

// twoNodes returns the required inputs 0 and 1 as nodes.
func (c *nodeCtx) twoNodes() (*gg.Node, *gg.Node, error) {
	a, err := c.node(0)
	if err != nil {
		return nil, nil, err
	}
	b, err := c.node(1)
	return a, b, err
}

// konsts returns inputs from to to (excluded) that are known at build time,
// nil for the others: the sources of a derived constant.
func (c *nodeCtx) konsts(from, to int) []*constTensor {
	out := make([]*constTensor, 0, to-from)
	for i := from; i < to; i++ {
		k, _ := c.konst(i)
		out = append(out, k)
	}
	return out
}

// konst returns input i when it is known at build time.
func (c *nodeCtx) konst(i int) (*constTensor, bool) {
	v := c.opt(i)
	if v == nil || v.konst == nil {
		return nil, false
	}
	return v.konst, true
}

// derived returns the constant that compute computes, for this node and
// role, from the constants sources (nil ones are left out): once per program
// when every source is fixed (the same in every graph), else in every graph
// that needs it.
func (c *nodeCtx) derived(role string, compute func() (*constTensor, error), sources ...*constTensor) (*constTensor, error) {
	for _, s := range sources {
		if s != nil && !s.fixed {
			return compute()
		}
	}
	key := fmt.Sprintf("%d/%s", c.index, role)
	if d, ok := c.p.derived[key]; ok {
		return d, nil
	}
	d, err := compute()
	if err != nil {
		return nil, err
	}
	d.fixed = true
	c.p.derived[key] = d
	return d, nil
}

// nodeValue wraps a graph node as an ONNX value.
func nodeValue(n *gg.Node, err error) (*value, error) {
	if err != nil {
		return nil, err
	}
	return &value{node: n}, nil
}
