package gorgonia

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

// latestOpset stands for the default-domain opset of a model that imports
// none: the newest semantics this package implements.
const latestOpset = 21

// program is a parsed and checked ONNX model: everything an instance builds
// its graphs from. It belongs to one instance and is used from its worker
// goroutine only.
type program struct {
	model string // spec.Model, for errors
	opset int64  // the default domain's version
	meta  backends.Metadata
	nodes []*onnxpb.NodeProto
	// inits holds the decoded initializers; an initializer that could not
	// be decoded has an error in initErr instead, reported by a node that
	// uses it.
	inits   map[string]*constTensor
	initErr map[string]error
	// derived caches weights rearranged at build time (transposed, scaled,
	// folded), by node index and role, so that every graph of the instance
	// shares them.
	derived map[string]*constTensor
	// consumers lists, per value name, the nodes that read it; a graph
	// output counts as a consumer of index -1.
	consumers map[string][]int
}

// parseProgram decodes a serialized ModelProto and checks what can be
// checked without building a graph: the signature (FP32 tensors with a
// known rank, integer ones), the initializers, and that every node's op is
// supported and its inputs defined before it.
func parseProgram(model string, data []byte) (*program, error) {
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		return nil, fmt.Errorf("model %q: decoding the ONNX model: %w", model, err)
	}
	g := mp.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("model %q: the ONNX model has no graph", model)
	}
	md, notes, err := onnxpb.Inspect(data)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", model, err)
	}
	p := &program{
		model: model, opset: opsetOf(&mp), meta: md, nodes: g.GetNode(),
		inits: make(map[string]*constTensor), initErr: make(map[string]error),
		derived: make(map[string]*constTensor),
	}
	if err := p.checkSignature(g, notes); err != nil {
		return nil, err
	}
	for _, t := range g.GetInitializer() {
		c, err := decodeTensor(t)
		if err != nil {
			p.initErr[t.GetName()] = err
			continue
		}
		c.fixed = true
		p.inits[t.GetName()] = c
	}
	if err := p.checkNodes(); err != nil {
		return nil, err
	}
	p.consumers = make(map[string][]int)
	for i, n := range p.nodes {
		for _, in := range n.GetInput() {
			p.consumers[in] = append(p.consumers[in], i)
		}
	}
	for _, o := range p.meta.Outputs {
		p.consumers[o.Name] = append(p.consumers[o.Name], -1)
	}
	return p, nil
}

// opsetOf returns the version of the default ("" or "ai.onnx") domain.
func opsetOf(mp *onnxpb.ModelProto) int64 {
	for _, o := range mp.GetOpsetImport() {
		if d := o.GetDomain(); d == "" || d == "ai.onnx" {
			return o.GetVersion()
		}
	}
	return latestOpset
}

// checkSignature refuses inputs and outputs this backend cannot carry:
// anything but FP32 tensors and integer (INT64, INT32) ones; FP32 inputs of
// unknown rank or rank 0; integer inputs of unknown rank, or too large to
// be build-time constants (Model.checkInputs checks those with dynamic
// axes). Integer outputs must be build-time constants, which building the
// graph checks.
func (p *program) checkSignature(g *onnxpb.GraphProto, notes []string) error {
	inits := make(map[string]bool)
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	want := 0
	for _, v := range g.GetInput() {
		if !inits[v.GetName()] {
			want++
		}
	}
	if want != len(p.meta.Inputs) || len(g.GetOutput()) != len(p.meta.Outputs) {
		why := strings.Join(notes, "; ")
		if why == "" {
			why = "some inputs or outputs are not tensors"
		}
		return fmt.Errorf("model %q: %s; the gorgonia backend takes and returns tensors only (sequences live inside its graphs)", p.model, why)
	}
	for _, s := range p.meta.Inputs {
		if err := checkSpec("input", s); err != nil {
			return fmt.Errorf("model %q: %w", p.model, err)
		}
		switch {
		case isIntType(s.DataType) && s.Shape == nil:
			return fmt.Errorf("model %q: input %q has no shape (unknown rank); the gorgonia backend needs integer inputs of known rank", p.model, s.Name)
		case isIntType(s.DataType) && !slices.Contains(s.Shape, -1) && tooManyInts(backends.NumElements(s.Shape)):
			return fmt.Errorf("model %q: input %q (%s of shape %v) holds more than %d values, the most the gorgonia backend takes as a build-time constant (%s)",
				p.model, s.Name, s.DataType, s.Shape, maxIntElems, intInputAdvice)
		case !isIntType(s.DataType) && len(s.Shape) == 0:
			return fmt.Errorf("model %q: input %q has no shape or is a scalar; the gorgonia backend needs FP32 inputs of known rank 1 or more", p.model, s.Name)
		}
	}
	for _, s := range p.meta.Outputs {
		if err := checkSpec("output", s); err != nil {
			return fmt.Errorf("model %q: %w", p.model, err)
		}
	}
	return nil
}

func checkSpec(role string, s backends.TensorSpec) error {
	if s.DataType != backends.FP32 && !isIntType(s.DataType) {
		return fmt.Errorf("%s %q has datatype %s; the gorgonia backend supports FP32, and INT64 and INT32 as build-time constants", role, s.Name, s.DataType)
	}
	return nil
}

// tooManyInts reports whether an integer input of n values (-1: more than
// an int64 holds) is too large to be a build-time constant.
func tooManyInts(n int64) bool { return n < 0 || n > maxIntElems }

// intInput returns the first integer input's name, if the model has one.
func (p *program) intInput() (string, bool) {
	for _, s := range p.meta.Inputs {
		if isIntType(s.DataType) {
			return s.Name, true
		}
	}
	return "", false
}

// checkNodes refuses unsupported ops and nodes that use a value no earlier
// node, input or initializer defines.
func (p *program) checkNodes() error {
	defined := make(map[string]bool)
	for _, s := range p.meta.Inputs {
		defined[s.Name] = true
	}
	for name := range p.inits {
		defined[name] = true
	}
	for name := range p.initErr {
		defined[name] = true
	}
	for i, n := range p.nodes {
		if _, ok := opBuilders[n.GetOpType()]; !ok || !defaultDomain(n.GetDomain()) {
			return p.nodeErr(i, fmt.Errorf("op %s is not supported by the gorgonia backend", opName(n)))
		}
		for _, in := range n.GetInput() {
			if in != "" && !defined[in] {
				return p.nodeErr(i, fmt.Errorf("%s: input %q is not defined by an earlier node, an input or an initializer", n.GetOpType(), in))
			}
		}
		for _, out := range n.GetOutput() {
			defined[out] = true
		}
	}
	for _, s := range p.meta.Outputs {
		if !defined[s.Name] {
			return fmt.Errorf("model %q: output %q is not computed by any node", p.model, s.Name)
		}
	}
	return nil
}

func defaultDomain(d string) bool { return d == "" || d == "ai.onnx" }

// opName is the op type, qualified by its domain when not the default.
func opName(n *onnxpb.NodeProto) string {
	if defaultDomain(n.GetDomain()) {
		return n.GetOpType()
	}
	return n.GetDomain() + "." + n.GetOpType()
}

// nodeErr says which model and node err is about, as
// `model "m": node 3 ("conv_1"): ...`.
func (p *program) nodeErr(i int, err error) error {
	if name := p.nodes[i].GetName(); name != "" {
		return fmt.Errorf("model %q: node %d (%q): %w", p.model, i, name, err)
	}
	return fmt.Errorf("model %q: node %d: %w", p.model, i, err)
}
