package modelgen

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

// The versions every generated model targets.
const (
	irVersion    = 8
	opsetVersion = 13
	producerName = "tiffin-modelgen"
	batchParam   = "batch" // the symbolic name of every batch axis
)

// graph builds one ONNX graph. Inputs and outputs get a leading batch axis;
// initializers are stored as little-endian raw_data.
type graph struct {
	g *onnxpb.GraphProto
}

func newGraph(name, doc string) *graph {
	return &graph{g: &onnxpb.GraphProto{Name: name, DocString: doc}}
}

// input declares a graph input of shape [batch, dims...].
func (g *graph) input(name string, elem onnxpb.TensorProto_DataType, dims ...int64) {
	g.g.Input = append(g.g.Input, batchedValue(name, elem, dims))
}

// output declares a graph output of shape [batch, dims...].
func (g *graph) output(name string, elem onnxpb.TensorProto_DataType, dims ...int64) {
	g.g.Output = append(g.g.Output, batchedValue(name, elem, dims))
}

// fixedInput and fixedOutput declare a graph input or output of exactly
// dims: no batch axis (no dims at all is a scalar).
func (g *graph) fixedInput(name string, elem onnxpb.TensorProto_DataType, dims ...int64) {
	g.g.Input = append(g.g.Input, fixedValue(name, elem, dims))
}

func (g *graph) fixedOutput(name string, elem onnxpb.TensorProto_DataType, dims ...int64) {
	g.g.Output = append(g.g.Output, fixedValue(name, elem, dims))
}

func batchedValue(name string, elem onnxpb.TensorProto_DataType, dims []int64) *onnxpb.ValueInfoProto {
	v := fixedValue(name, elem, dims)
	batch := &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: batchParam}}
	shape := v.GetType().GetTensorType().Shape
	shape.Dim = append([]*onnxpb.TensorShapeProto_Dimension{batch}, shape.Dim...)
	return v
}

func fixedValue(name string, elem onnxpb.TensorProto_DataType, dims []int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{}}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{
			Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d},
		})
	}
	return &onnxpb.ValueInfoProto{Name: name, Type: &onnxpb.TypeProto{
		Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: int32(elem), Shape: shape,
		}},
	}}
}

// initializer adds an FP32 constant. Empty dims make a scalar.
func (g *graph) initializer(name string, dims []int64, data []float32) {
	raw := make([]byte, 0, 4*len(data))
	for _, v := range data {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	g.rawInitializer(name, onnxpb.TensorProto_FLOAT, dims, raw)
}

// initializerFloat64 adds an FP64 constant.
func (g *graph) initializerFloat64(name string, dims []int64, data []float64) {
	raw := make([]byte, 0, 8*len(data))
	for _, v := range data {
		raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(v))
	}
	g.rawInitializer(name, onnxpb.TensorProto_DOUBLE, dims, raw)
}

// initializerInt64 adds an INT64 constant.
func (g *graph) initializerInt64(name string, dims []int64, data []int64) {
	raw := make([]byte, 0, 8*len(data))
	for _, v := range data {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
	}
	g.rawInitializer(name, onnxpb.TensorProto_INT64, dims, raw)
}

func (g *graph) rawInitializer(name string, elem onnxpb.TensorProto_DataType, dims []int64, raw []byte) {
	g.g.Initializer = append(g.g.Initializer, &onnxpb.TensorProto{
		Name: name, DataType: int32(elem), Dims: dims, RawData: raw,
	})
}

// node appends an operator of the default domain. Nodes must be added in
// topological order.
func (g *graph) node(op string, inputs, outputs []string, attrs ...*onnxpb.AttributeProto) {
	g.g.Node = append(g.g.Node, &onnxpb.NodeProto{
		Name:      fmt.Sprintf("%s_%d", op, len(g.g.Node)),
		OpType:    op,
		Input:     inputs,
		Output:    outputs,
		Attribute: attrs,
	})
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_INT, I: v}
}

func attrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_INTS, Ints: v}
}

// model wraps the graph in a ModelProto and serializes it. The encoding is
// deterministic: the same graph always gives the same bytes.
func (g *graph) model() ([]byte, error) {
	m := &onnxpb.ModelProto{
		IrVersion:    irVersion,
		ProducerName: producerName,
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: "", Version: opsetVersion}},
		Graph:        g.g,
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("modelgen: encode %s: %w", g.g.GetName(), err)
	}
	return b, nil
}
