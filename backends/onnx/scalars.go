package onnx

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

// onnxruntime_go (v1.27.0) cannot make a rank-0 tensor: its shapes must
// have at least one axis, so a scalar input cannot be passed and a scalar
// output cannot be read back. ONNX Runtime itself runs such models, so the
// backend serves them by rewriting the graph it gives the session: each
// scalar input is declared [1] and reshaped to [] before its first use, and
// each scalar output is reshaped from [] to [1] as the graph's last step.
// The model's metadata still says [] (it is read from the file as is); the
// backend hands such inputs to ONNX Runtime as [1] and gives such outputs
// back as [].

// scalarSuffix names the inner, rank-0 value of a rewritten graph boundary.
const scalarSuffix = "__tiffin_scalar"

// wrapScalars returns the model rewritten as above with the names of the
// inputs and outputs it wrapped, or nil when the graph has no rank-0 input
// or output. The names matter because ONNX Runtime's metadata shows an
// input or output of unknown rank as [] too: only those named here are
// scalars. It needs Reshape with its shape as an input: ai.onnx opset 5 or
// later.
func wrapScalars(model []byte) ([]byte, map[string]bool, error) {
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(model, &m); err != nil {
		return nil, nil, err
	}
	g := m.GetGraph()
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	var scalarIns, scalarOuts []*onnxpb.ValueInfoProto
	for _, v := range g.GetInput() {
		if isScalar(v) && !inits[v.GetName()] {
			scalarIns = append(scalarIns, v)
		}
	}
	for _, v := range g.GetOutput() {
		if isScalar(v) {
			scalarOuts = append(scalarOuts, v)
		}
	}
	if len(scalarIns)+len(scalarOuts) == 0 {
		return nil, nil, nil
	}
	if v := defaultOpset(&m); v < 5 {
		return nil, nil, fmt.Errorf("scalar inputs or outputs need ai.onnx opset 5 or later for the onnxruntime backend, the model imports %d", v)
	}
	rename := map[string]string{}
	var head, tail []*onnxpb.NodeProto
	for _, v := range scalarIns {
		inner := v.GetName() + scalarSuffix
		rename[v.GetName()] = inner
		head = append(head, reshapeNode(g, v.GetName(), inner, nil))
		setDims(v, 1)
	}
	for _, v := range scalarOuts {
		if _, isIn := rename[v.GetName()]; isIn || inits[v.GetName()] || !produced(g, v.GetName()) {
			return nil, nil, fmt.Errorf("scalar output %q is a graph input or initializer, which the onnxruntime backend cannot return", v.GetName())
		}
		inner := v.GetName() + scalarSuffix
		rename[v.GetName()] = inner
		tail = append(tail, reshapeNode(g, inner, v.GetName(), []int64{1}))
	}
	renameValues(g, rename)
	for _, v := range scalarOuts {
		setDims(v, 1)
	}
	g.Node = append(append(head, g.Node...), tail...)
	scalars := make(map[string]bool, len(rename))
	for name := range rename {
		scalars[name] = true
	}
	out, err := proto.Marshal(&m)
	return out, scalars, err
}

// isScalar reports whether v is a tensor of rank 0 (a shape with no axes,
// not an unknown shape).
func isScalar(v *onnxpb.ValueInfoProto) bool {
	tt := v.GetType().GetTensorType()
	return tt != nil && tt.GetShape() != nil && len(tt.GetShape().GetDim()) == 0
}

func setDims(v *onnxpb.ValueInfoProto, dims ...int64) {
	shape := v.GetType().GetTensorType().GetShape()
	shape.Dim = nil
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
}

func defaultOpset(m *onnxpb.ModelProto) int64 {
	for _, o := range m.GetOpsetImport() {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			return o.GetVersion()
		}
	}
	return 0
}

// produced reports whether some node of g outputs name.
func produced(g *onnxpb.GraphProto, name string) bool {
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			if o == name {
				return true
			}
		}
	}
	return false
}

// reshapeNode makes Reshape(from, shape) -> to, its shape an initializer
// added to g (an empty shape reshapes to a scalar).
func reshapeNode(g *onnxpb.GraphProto, from, to string, shape []int64) *onnxpb.NodeProto {
	shapeName := to + "__shape"
	g.Initializer = append(g.Initializer, &onnxpb.TensorProto{
		Name: shapeName, DataType: int32(onnxpb.TensorProto_INT64), Dims: []int64{int64(len(shape))}, Int64Data: shape})
	return &onnxpb.NodeProto{OpType: "Reshape", Name: to + "__reshape", Input: []string{from, shapeName}, Output: []string{to}}
}

// renameValues renames the values of g's nodes and value_info, and of every
// subgraph's nodes (which may read the outer graph's values).
func renameValues(g *onnxpb.GraphProto, rename map[string]string) {
	sub := func(names []string) {
		for i, n := range names {
			if r, ok := rename[n]; ok {
				names[i] = r
			}
		}
	}
	for _, n := range g.GetNode() {
		sub(n.Input)
		sub(n.Output)
		for _, a := range n.GetAttribute() {
			if a.GetG() != nil {
				renameValues(a.GetG(), rename)
			}
			for _, sg := range a.GetGraphs() {
				renameValues(sg, rename)
			}
		}
	}
	for _, v := range g.GetValueInfo() {
		if r, ok := rename[v.GetName()]; ok {
			v.Name = r
		}
	}
}
