// Package modelgen builds tiffin's demo and test models in Go: small ONNX
// graphs (an MLP, a CNN and a model with several inputs and outputs of
// different datatypes) with deterministic weights, and a plain-Go reference
// computation of each, so tests can run a model under a real engine and
// compare its outputs with Forward.
//
// Forward accumulates sums in float64 and rounds to float32 once per layer.
// Checked against ONNX Runtime 1.24.1 (CPU) for batch 1 and 5 with inputs
// drawn from N(0,1), the largest absolute difference was 7.5e-8 (mlp-large;
// outputs of magnitude up to 0.2), so comparing with an absolute tolerance
// of 1e-5 leaves a wide margin. MultiIO's outputs are bit-exact.
//
// Every model imports the default ONNX operator set at version 13, targets
// IR version 8, and has a dynamic batch axis: axis 0 of every input and
// output is the symbolic dimension "batch".
//
// WriteRepository lays the demo models out as a model repository the server
// can serve, one <model>/1/model.onnx per model, with a config.yaml for
// mlp-small to show the configuration format.
package modelgen
