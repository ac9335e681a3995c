// Package onnxtestdata reads ONNX's own backend test data, the folders the
// `onnx` Python wheel ships under onnx/backend/test/data/:
//
//   - pytorch-converted, pytorch-operator and simple: one folder per case,
//     holding model.onnx and test_data_set_0/ with input_N.pb and
//     output_N.pb, each a serialized TensorProto;
//   - light: the model zoo's CNNs as light_NAME.onnx beside
//     light_NAME_output_0.pb, with no input file: ONNX's runner feeds them
//     arange(n)/n in float32, every unsized axis taken as 1, and so does Load.
//
// Dir finds the data (TIFFIN_ONNX_TESTDATA, or the venv that
// `make conformance-venv` builds under build/), List enumerates its cases,
// and Case.Load decodes a case's inputs and expected outputs into
// backends.Tensor values named after the model's graph inputs and outputs,
// by position, as ONNX's runner matches them. Close compares an answer with
// an expected tensor as numpy.testing.assert_allclose does, with the case's
// tolerances (ONNX's defaults: rtol 1e-3, atol 1e-7; a case's data.json may
// override them).
//
// The package imports only backends and backends/onnxpb; tests and tools
// use it, the server does not.
package onnxtestdata
