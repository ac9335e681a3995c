//go:build cgo

package onnx

import (
	"fmt"
	"log/slog"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tiffin-ml/tiffin/backends"
)

// fromORT maps every ORT element type that has a V2 datatype.
var fromORT = map[ort.TensorElementDataType]backends.DataType{
	ort.TensorElementDataTypeBool:     backends.Bool,
	ort.TensorElementDataTypeUint8:    backends.Uint8,
	ort.TensorElementDataTypeUint16:   backends.Uint16,
	ort.TensorElementDataTypeUint32:   backends.Uint32,
	ort.TensorElementDataTypeUint64:   backends.Uint64,
	ort.TensorElementDataTypeInt8:     backends.Int8,
	ort.TensorElementDataTypeInt16:    backends.Int16,
	ort.TensorElementDataTypeInt32:    backends.Int32,
	ort.TensorElementDataTypeInt64:    backends.Int64,
	ort.TensorElementDataTypeFloat16:  backends.FP16,
	ort.TensorElementDataTypeBFloat16: backends.BF16,
	ort.TensorElementDataTypeFloat:    backends.FP32,
	ort.TensorElementDataTypeDouble:   backends.FP64,
	ort.TensorElementDataTypeString:   backends.Bytes,
}

// toORT is the inverse of fromORT, indexed by DataType.
var toORT = func() (m [backends.Bytes + 1]ort.TensorElementDataType) {
	for o, d := range fromORT {
		m[d] = o
	}
	return m
}()

// valueKind names an ORT value type in messages.
func valueKind(t ort.ONNXType) string {
	switch t {
	case ort.ONNXTypeTensor:
		return "tensor"
	case ort.ONNXTypeSequence:
		return "sequence"
	case ort.ONNXTypeMap:
		return "map"
	case ort.ONNXTypeSparseTensor:
		return "sparse tensor"
	case ort.ONNXTypeOptional:
		return "optional"
	case ort.ONNXTypeOpaque:
		return "opaque value"
	}
	return "value of unknown type"
}

// tensorSpec converts one input or output to a TensorSpec, or says why it
// cannot: it is not a dense tensor, or its elements have no V2 datatype.
func tensorSpec(io ort.InputOutputInfo) (backends.TensorSpec, error) {
	if io.OrtValueType != ort.ONNXTypeTensor {
		return backends.TensorSpec{}, fmt.Errorf("%q is a %s, not a tensor", io.Name, valueKind(io.OrtValueType))
	}
	dt, ok := fromORT[io.DataType]
	if !ok {
		return backends.TensorSpec{}, fmt.Errorf("%q has element type %s, which has no V2 datatype", io.Name, io.DataType)
	}
	shape := make([]int64, len(io.Dimensions))
	for i, d := range io.Dimensions {
		shape[i] = max(d, -1) // symbolic and unknown axes are dynamic
	}
	return backends.TensorSpec{Name: io.Name, DataType: dt, Shape: shape}, nil
}

// metadataFrom builds the metadata from ORT's view of the model. Every input
// must be a tensor. Outputs that are not are left out, with a warning; at
// least one must remain.
func metadataFrom(ins, outs []ort.InputOutputInfo, log *slog.Logger) (backends.Metadata, error) {
	var meta backends.Metadata
	for _, in := range ins {
		s, err := tensorSpec(in)
		if err != nil {
			return meta, fmt.Errorf("input %w; only tensor inputs are supported", err)
		}
		meta.Inputs = append(meta.Inputs, s)
	}
	for _, out := range outs {
		s, err := tensorSpec(out)
		if err != nil {
			log.Warn("onnxruntime: leaving out a model output", "output", out.Name,
				"reason", fmt.Sprintf("output %v; it will not be computed or returned", err))
			continue
		}
		meta.Outputs = append(meta.Outputs, s)
	}
	if len(meta.Outputs) == 0 {
		return meta, fmt.Errorf("none of the model's %d outputs is a tensor with a V2 datatype", len(outs))
	}
	return meta, nil
}

func specNames(specs []backends.TensorSpec) []string {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	return names
}
