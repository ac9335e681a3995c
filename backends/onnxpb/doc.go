// Package onnxpb owns tiffin's ONNX protobuf schema: onnx.proto, the subset
// of the ONNX IR (models, graphs, nodes, attributes, tensors, types) that the
// server reads and the model generator writes, with the field numbers of the
// ONNX specification so the bytes are real .onnx files.
//
// onnx.pb.go is generated from onnx.proto and committed; after editing the
// schema, run gen.sh, which pins protoc 3.21 and protoc-gen-go v1.36.12.
//
// Besides the generated messages the package maps ONNX element types to the
// server's V2 datatypes (ToDataType, FromDataType), decodes a TensorProto into a
// backends.Tensor (ToTensor), and reads the input and
// output signature of a model file without loading a runtime (Inspect).
package onnxpb
