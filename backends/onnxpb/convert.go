package onnxpb

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/backends"
)

// onnxToV2 maps the ONNX element types that have a V2 datatype. The others
// (complex, 8-bit and 4-bit floats, 4-bit ints) have none.
var onnxToV2 = map[TensorProto_DataType]backends.DataType{
	TensorProto_FLOAT:    backends.FP32,
	TensorProto_UINT8:    backends.Uint8,
	TensorProto_INT8:     backends.Int8,
	TensorProto_UINT16:   backends.Uint16,
	TensorProto_INT16:    backends.Int16,
	TensorProto_INT32:    backends.Int32,
	TensorProto_INT64:    backends.Int64,
	TensorProto_STRING:   backends.Bytes,
	TensorProto_BOOL:     backends.Bool,
	TensorProto_FLOAT16:  backends.FP16,
	TensorProto_DOUBLE:   backends.FP64,
	TensorProto_UINT32:   backends.Uint32,
	TensorProto_UINT64:   backends.Uint64,
	TensorProto_BFLOAT16: backends.BF16,
}

// ToDataType maps an ONNX element type (a TensorProto.DataType value, as
// found in TypeProto.Tensor.elem_type and TensorProto.data_type) to its V2
// datatype. It reports false for types V2 cannot carry, such as COMPLEX64 or
// FLOAT8E4M3FN, and for UNDEFINED.
func ToDataType(elemType int32) (backends.DataType, bool) {
	d, ok := onnxToV2[TensorProto_DataType(elemType)]
	return d, ok
}

// FromDataType maps a V2 datatype to its ONNX element type. It reports false
// for an invalid datatype.
func FromDataType(d backends.DataType) (int32, bool) {
	for e, v := range onnxToV2 {
		if v == d {
			return int32(e), true
		}
	}
	return int32(TensorProto_UNDEFINED), false
}

// Inspect reads the signature of a serialized ModelProto: the graph inputs
// that are not initializers, and the graph outputs, in graph order. An axis
// with a dim_value keeps it; an axis with a dim_param, or with neither, is
// -1. A tensor whose shape is absent (unknown rank) gets a nil Shape, while a
// scalar gets an empty non-nil one.
//
// Inputs and outputs the V2 protocol cannot carry (sequences, maps,
// optionals, sparse tensors, or tensors of an element type without a V2
// datatype) are left out of the metadata, and each gets a note naming it and
// saying why, for the caller to log or report.
func Inspect(modelBytes []byte) (backends.Metadata, []string, error) {
	var m ModelProto
	if err := proto.Unmarshal(modelBytes, &m); err != nil {
		return backends.Metadata{}, nil, fmt.Errorf("onnx model: %w", err)
	}
	g := m.GetGraph()
	if g == nil {
		return backends.Metadata{}, nil, fmt.Errorf("onnx model: no graph")
	}
	inits := make(map[string]bool, len(g.GetInitializer()))
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	var md backends.Metadata
	var notes []string
	for _, v := range g.GetInput() {
		if inits[v.GetName()] {
			continue
		}
		md.Inputs, notes = appendSpec(md.Inputs, notes, "input", v)
	}
	for _, v := range g.GetOutput() {
		md.Outputs, notes = appendSpec(md.Outputs, notes, "output", v)
	}
	return md, notes, nil
}

// appendSpec appends v's spec to specs, or a note on why it has none.
func appendSpec(specs []backends.TensorSpec, notes []string, role string, v *ValueInfoProto) ([]backends.TensorSpec, []string) {
	spec, note := tensorSpec(v)
	if note != "" {
		return specs, append(notes, fmt.Sprintf("%s %q skipped: %s", role, v.GetName(), note))
	}
	if spec.Shape == nil {
		notes = append(notes, fmt.Sprintf("%s %q has no shape (unknown rank)", role, v.GetName()))
	}
	return append(specs, spec), notes
}

// tensorSpec converts a tensor-typed value; for any other value it returns a
// note saying what the value is instead.
func tensorSpec(v *ValueInfoProto) (backends.TensorSpec, string) {
	tt := v.GetType().GetTensorType()
	if tt == nil {
		return backends.TensorSpec{}, "type " + typeString(v.GetType()) + " is not a tensor"
	}
	d, ok := ToDataType(tt.GetElemType())
	if !ok {
		return backends.TensorSpec{}, fmt.Sprintf("element type %s has no V2 datatype", elemString(tt.GetElemType()))
	}
	return backends.TensorSpec{Name: v.GetName(), DataType: d, Shape: shapeOf(tt.GetShape())}, ""
}

// shapeOf converts a shape, -1 standing for every axis without a size. A nil
// shape (unknown rank) gives nil.
func shapeOf(s *TensorShapeProto) []int64 {
	if s == nil {
		return nil
	}
	shape := make([]int64, len(s.GetDim()))
	for i, d := range s.GetDim() {
		shape[i] = -1
		if v, ok := d.GetValue().(*TensorShapeProto_Dimension_DimValue); ok && v.DimValue >= 0 {
			shape[i] = v.DimValue
		}
	}
	return shape
}

// typeString renders a type the way ONNX Runtime's messages do, such as
// "seq(map(int64,tensor(float)))".
func typeString(t *TypeProto) string {
	switch v := t.GetValue().(type) {
	case *TypeProto_TensorType:
		return "tensor(" + elemString(v.TensorType.GetElemType()) + ")"
	case *TypeProto_SequenceType:
		return "seq(" + typeString(v.SequenceType.GetElemType()) + ")"
	case *TypeProto_MapType:
		return "map(" + elemString(v.MapType.GetKeyType()) + "," + typeString(v.MapType.GetValueType()) + ")"
	case *TypeProto_OptionalType:
		return "optional(" + typeString(v.OptionalType.GetElemType()) + ")"
	case *TypeProto_SparseTensorType:
		return "sparse_tensor(" + elemString(v.SparseTensorType.GetElemType()) + ")"
	case nil:
		return "(none)"
	default:
		return "(unknown)"
	}
}

// elemString names an element type in lower case, as "float" or "int64".
func elemString(elemType int32) string {
	return strings.ToLower(TensorProto_DataType(elemType).String())
}
