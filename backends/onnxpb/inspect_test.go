package onnxpb

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/backends"
)

func dim(v int64) *TensorShapeProto_Dimension {
	return &TensorShapeProto_Dimension{Value: &TensorShapeProto_Dimension_DimValue{DimValue: v}}
}

func param(p string) *TensorShapeProto_Dimension {
	return &TensorShapeProto_Dimension{Value: &TensorShapeProto_Dimension_DimParam{DimParam: p}}
}

func tensorValue(name string, elem TensorProto_DataType, shape *TensorShapeProto) *ValueInfoProto {
	return &ValueInfoProto{Name: name, Type: &TypeProto{Value: &TypeProto_TensorType{
		TensorType: &TypeProto_Tensor{ElemType: int32(elem), Shape: shape},
	}}}
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInspectShapesAndSkips(t *testing.T) {
	optional := &ValueInfoProto{Name: "maybe", Type: &TypeProto{Value: &TypeProto_OptionalType{
		OptionalType: &TypeProto_Optional{ElemType: tensorValue("", TensorProto_FLOAT, nil).Type},
	}}}
	m := &ModelProto{IrVersion: 8, Graph: &GraphProto{
		Input: []*ValueInfoProto{
			tensorValue("x", TensorProto_FLOAT, &TensorShapeProto{Dim: []*TensorShapeProto_Dimension{param("batch"), {}, dim(3)}}),
			tensorValue("w", TensorProto_FLOAT, &TensorShapeProto{Dim: []*TensorShapeProto_Dimension{dim(3)}}),
			tensorValue("scale", TensorProto_DOUBLE, &TensorShapeProto{}),
			tensorValue("any", TensorProto_INT64, nil),
			optional,
		},
		Output: []*ValueInfoProto{
			tensorValue("z", TensorProto_COMPLEX64, &TensorShapeProto{Dim: []*TensorShapeProto_Dimension{dim(2)}}),
			tensorValue("y", TensorProto_FLOAT16, &TensorShapeProto{Dim: []*TensorShapeProto_Dimension{param("batch"), dim(0)}}),
			{Name: "untyped"},
		},
		Initializer: []*TensorProto{{Name: "w", Dims: []int64{3}, DataType: int32(TensorProto_FLOAT), FloatData: []float32{1, 2, 3}}},
	}}
	md, notes, err := Inspect(marshal(t, m))
	if err != nil {
		t.Fatal(err)
	}
	want := backends.Metadata{
		Inputs: []backends.TensorSpec{
			{Name: "x", DataType: backends.FP32, Shape: []int64{-1, -1, 3}},
			{Name: "scale", DataType: backends.FP64, Shape: []int64{}},
			{Name: "any", DataType: backends.Int64},
		},
		Outputs: []backends.TensorSpec{{Name: "y", DataType: backends.FP16, Shape: []int64{-1, 0}}},
	}
	if !reflect.DeepEqual(md, want) {
		t.Errorf("metadata:\n got %v\nwant %v", md, want)
	}
	if md.Inputs[1].Shape == nil {
		t.Error("scalar input has a nil shape; want empty, non-nil")
	}
	wantNotes := []string{
		`input "any" has no shape (unknown rank)`,
		`input "maybe" skipped: type optional(tensor(float)) is not a tensor`,
		`output "z" skipped: element type complex64 has no V2 datatype`,
		`output "untyped" skipped: type (none) is not a tensor`,
	}
	if !reflect.DeepEqual(notes, wantNotes) {
		t.Errorf("notes:\n got %q\nwant %q", notes, wantNotes)
	}
}

func TestInspectErrors(t *testing.T) {
	if _, _, err := Inspect([]byte("this is not a model")); err == nil {
		t.Error("Inspect(garbage) succeeded")
	}
	_, _, err := Inspect(marshal(t, &ModelProto{IrVersion: 8}))
	if err == nil || !strings.Contains(err.Error(), "no graph") {
		t.Errorf("Inspect(model without graph) = %v, want a no-graph error", err)
	}
}

// TestWireFormat pins a few encodings by hand, from the field numbers of the
// ONNX specification: ModelProto.ir_version is 1, graph 7, opset_import 8;
// GraphProto.name is 2; OperatorSetIdProto.version is 2; TensorProto.dims 1
// (packed), data_type 2, raw_data 9.
func TestWireFormat(t *testing.T) {
	m := &ModelProto{
		IrVersion:   8,
		Graph:       &GraphProto{Name: "g"},
		OpsetImport: []*OperatorSetIdProto{{Version: 13}},
	}
	want := []byte{0x08, 8, 0x3a, 3, 0x12, 1, 'g', 0x42, 2, 0x10, 13}
	if got := marshal(t, m); !bytes.Equal(got, want) {
		t.Errorf("model encodes as % x, want % x", got, want)
	}
	tp := &TensorProto{Dims: []int64{2, 3}, DataType: int32(TensorProto_FLOAT), RawData: []byte{1}}
	want = []byte{0x0a, 2, 2, 3, 0x10, 1, 0x4a, 1, 1}
	if got := marshal(t, tp); !bytes.Equal(got, want) {
		t.Errorf("tensor encodes as % x, want % x", got, want)
	}
}
