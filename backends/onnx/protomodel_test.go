//go:build cgo

package onnx

import (
	"os"
	"path/filepath"
	"testing"
)

// A few hand-encoded ONNX models, for shapes of model the test_data models
// lack. Only the protobuf fields they need are written (onnx.proto numbers).

func pbVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// pbBytes appends a length-delimited field.
func pbBytes(b []byte, field int, data []byte) []byte {
	b = pbVarint(b, uint64(field)<<3|2)
	b = pbVarint(b, uint64(len(data)))
	return append(b, data...)
}

// pbInt appends a varint field.
func pbInt(b []byte, field int, v int64) []byte {
	b = pbVarint(b, uint64(field)<<3)
	return pbVarint(b, uint64(v))
}

// ONNX element types (TensorProto.DataType).
const (
	onnxFloat   = 1
	onnxString  = 8
	onnxFloat16 = 10
)

// tensorType is a TypeProto for a float tensor of the given shape.
func tensorType(dims ...int64) []byte { return typedTensor(onnxFloat, dims...) }

// typedTensor is a TypeProto for a tensor; a negative dim is a symbolic
// axis named "N".
func typedTensor(elem int64, dims ...int64) []byte {
	var shape []byte
	for _, d := range dims {
		dim := pbInt(nil, 1, d) // dim_value
		if d < 0 {
			dim = pbBytes(nil, 2, []byte("N")) // dim_param
		}
		shape = pbBytes(shape, 1, dim)
	}
	tt := pbInt(nil, 1, elem)  // elem_type
	tt = pbBytes(tt, 2, shape) // shape
	return pbBytes(nil, 1, tt) // TypeProto.tensor_type
}

// sequenceType is a TypeProto for a sequence of elem.
func sequenceType(elem []byte) []byte {
	return pbBytes(nil, 4, pbBytes(nil, 1, elem)) // sequence_type { elem_type }
}

func valueInfo(name string, typ []byte) []byte {
	return pbBytes(pbBytes(nil, 1, []byte(name)), 2, typ)
}

// node is a NodeProto with one input and one output.
func node(op, in, out string) []byte {
	n := pbBytes(nil, 1, []byte(in))
	n = pbBytes(n, 2, []byte(out))
	return pbBytes(n, 4, []byte(op))
}

// oneNodeModel encodes a model of one node, with opset 17.
func oneNodeModel(op string, in, out []byte, inName, outName string) []byte {
	g := pbBytes(nil, 1, node(op, inName, outName))
	g = pbBytes(g, 2, []byte("g"))
	g = pbBytes(g, 11, valueInfo(inName, in))
	g = pbBytes(g, 12, valueInfo(outName, out))
	m := pbInt(nil, 1, 8)                // ir_version
	m = pbBytes(m, 8, pbInt(nil, 2, 17)) // opset_import { version }
	return pbBytes(m, 7, g)              // graph
}

func writeModel(tb testing.TB, name string, data []byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// sequenceInputModel takes a sequence of float tensors and returns its
// length: an input the backend cannot take.
func sequenceInputModel(tb testing.TB) string {
	return writeModel(tb, "seq_in.onnx", oneNodeModel("SequenceLength",
		sequenceType(tensorType(3)), pbBytes(nil, 1, pbInt(nil, 1, 7)), "seq", "len"))
}

// sequenceOutputModel wraps a float tensor in a sequence: no tensor output.
func sequenceOutputModel(tb testing.TB) string {
	return writeModel(tb, "seq_out.onnx", oneNodeModel("SequenceConstruct",
		tensorType(3), sequenceType(tensorType(3)), "x", "seq"))
}

// identityModel passes a tensor of the given element type and shape
// through.
func identityModel(tb testing.TB, elem int64, dims ...int64) string {
	typ := typedTensor(elem, dims...)
	return writeModel(tb, "identity.onnx", oneNodeModel("Identity", typ, typ, "x", "y"))
}
