// Package gorgonia is tiffin's pure-Go backend ("gorgonia"): it owns
// executing ONNX graphs in Go with Gorgonia (gorgonia.org/gorgonia), without
// cgo or any shared library. Like every backend it never touches queues,
// batching policy or HTTP: it is given a batch of tensors and returns one.
//
// # Loading
//
// Load decodes the ONNX file (backends/onnxpb) into a program: the signature
// (onnxpb.Inspect; dynamic axes are -1), the initializers (FLOAT from
// raw_data or float_data; DOUBLE narrowed to float32; INT64 and INT32 for
// shapes), and the nodes. It refuses, naming the model, the node (index and
// name) and the op, any op outside SupportedOps, any input or output that is
// not an FP32 tensor, inputs of unknown rank, and second outputs (Dropout's
// mask, MaxPool's indices, BatchNormalization's training outputs). It then
// builds the graph for batch 1, so shape errors surface at load too.
//
// # Graphs per input shape
//
// Gorgonia graphs have static shapes, so an instance compiles one graph and
// tape machine per set of input shapes it sees (in practice, per batch
// size) and keeps them in a small LRU cache (Options.MaxShapes, default 8);
// the least recently used is evicted. Each instance owns its program and
// graphs; nothing mutable is shared between instances. The weights of one
// instance are shared, read-only, by its graphs: gorgonia never writes into
// input nodes. Graph construction takes a process-wide lock because
// gorgonia keeps some unlocked global state; running does not.
//
// # Ops
//
// Native gorgonia ops compute Gemm and MatMul (Mul, BatchedMatMul),
// same-shape Add/Sub/Mul/Div, Relu (Rectify), LeakyRelu, Sigmoid, Tanh, Exp,
// Log, Softmax, Transpose, Concat, Conv (Conv2d), MaxPool (MaxPool2D, for
// symmetric pads) and GlobalAveragePool. Where gorgonia lacks an op or its
// semantics differ from ONNX, the package has custom gorgonia Ops:
// broadcasting arithmetic (numpy rules, any rank), a copying Reshape
// (gorgonia's aliases its input, which in-place ops may then overwrite),
// AveragePool (gorgonia's AveragePool2D divides by the input width) and
// the MaxPool cases gorgonia cannot express or gets wrong (dilations,
// ceil_mode, asymmetric pads, which it applies the wrong way round), and a
// zero pad for Conv's asymmetric pads. BatchNormalization (inference) is
// folded into a per-channel scale and shift at build time; Identity and
// Dropout pass their input through; Constant, and Gemm's transposes and
// alpha/beta on constant operands, are resolved at build time. ops.go lists
// each op and how it is built.
//
// # Threads
//
// spec.Threads is not honoured: gonum's BLAS and gorgonia's im2col size
// their parallelism from GOMAXPROCS, process-wide, and gorgonia offers no
// per-graph setting. Nor does the instance's CPU pinning fully apply: the
// tape machine runs its instructions on a goroutine it starts for each run.
// Panics on that goroutine cannot be recovered by the caller, so the custom
// ops recover their own, and inputs are checked against the metadata before
// a graph is chosen; panics while building or binding are returned as
// errors.
//
// The backend runs on the CPU only: a GPU device is refused at Load. Empty
// tensors (a 0 axis) are refused at Run.
package gorgonia
