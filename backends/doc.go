// Package backends owns model execution: the Backend and Model interfaces
// every execution engine implements, the tensor and datatype vocabulary they
// share with the rest of the server, and the registry that names them.
//
// Engines live in sub-packages: onnx (ONNX Runtime through cgo) and
// gorgonia (pure Go, for builds and hosts without the native library). The
// ONNX protobuf schema lives in onnxpb and the demo and test model
// generator in modelgen.
//
// A backend knows nothing of queues, batching policy or the wire: it is given
// a batch of tensors and returns a batch of tensors. Which goroutine and
// thread call a model, and when, is stated once, on the Model interface.
package backends
