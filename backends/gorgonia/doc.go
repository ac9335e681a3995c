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
// name) and the op, any op outside SupportedOps; any input or output that is
// not an FP32, INT64 or INT32 tensor (FP64, BYTES, BOOL, sequences and
// maps); FP32 inputs of unknown rank or rank 0, integer inputs of unknown
// rank or of a fixed shape over 4096 values; and second outputs (Dropout's
// mask, MaxPool's indices, BatchNormalization's training outputs). It then
// builds the graph for batch 1, so shape errors surface at load too; a
// model with integer inputs is built at its first request instead.
//
// # Integer inputs and outputs
//
// An INT64 or INT32 input (any rank, scalars included) is not an input of
// the graph: it is a build-time constant, like an initializer, so every op
// that needs a constant operand takes it (Expand's and Reshape's shape,
// Gather's indices, Slice's starts, a sequence position), and arithmetic on
// integer constants folds exactly, in int64. Its values are part of the
// graph's cache key (shapeKey), so each distinct value builds and caches a
// graph of its own: fine for shapes, axes, positions and small index sets,
// not for token ids, so Run refuses an integer input of more than 4096
// values (maxIntElems), naming it. An empty FP32 input (a 0 axis) holds no
// values and is a build-time constant too: fine where only its shape
// counts, refused (naming the node) where the graph would compute on it.
// An integer output must be known at build time (a Shape, a
// SequenceLength, arithmetic on integer inputs); collect encodes it
// little-endian in the output's datatype, and refuses, naming it, one the
// graph would compute at run time.
//
// What the program caches across graphs (program.derived: weights
// transposed, scaled, packed or folded) is cached only when computed from
// fixed constants (constTensor.fixed: initializers, Constants and what folds
// from them alone), never from values that depend on the input shapes or
// integer values, which are computed again for each graph.
//
// # Sequences
//
// A sequence is a list known at build time (value.seq), never a model
// input or output. SequenceEmpty, SequenceConstruct, SequenceInsert and
// SequenceErase make new lists, SequenceAt returns the element value itself
// and SequenceLength an INT64 constant; positions must be constants (an
// integer model input is one), negative ones counting from the end.
// SplitToSequence cuts its input with Split's index-map kernels (split a
// scalar, a vector or absent, with keepdims), and ConcatFromSequence joins
// the elements with Concat's kernel (new_axis stacks them). FP64 and BYTES
// tensors stay refused, so sequences of them do too.
//
// # Graphs per input shape
//
// Gorgonia graphs have static shapes, so an instance compiles one graph and
// tape machine per set of input shapes it sees (in practice, per batch
// size; with integer inputs, per value too) and keeps them in a small LRU
// cache (Options.MaxShapes, default 8); the least recently used is
// evicted. Each instance owns its program and
// graphs; nothing mutable is shared between instances. The weights of one
// instance are shared, read-only, by its graphs: gorgonia never writes into
// input nodes. Graph construction takes a process-wide lock because
// gorgonia keeps some unlocked global state; running does not.
//
// # Ops
//
// ops.go lists every op and how it is built. Gorgonia's own ops compute
// same-shape Add/Sub/Mul/Div, Relu (Rectify), LeakyRelu, Sigmoid, Tanh, Exp,
// Log, Transpose and Concat. Everything else is a custom gorgonia Op of this
// package, mostly the generic kernelOp (op_kernel.go: fixed shapes and a Go
// function): broadcasting arithmetic (numpy rules, any rank), the
// elementwise and n-ary ops, Softmax and LogSoftmax with both axis
// semantics, a copying Reshape (gorgonia's aliases its input, which in-place
// ops may then overwrite), the index-moving ops (Slice, Split, Pad, Tile,
// Expand, Gather: a per-element source index computed at build time), the
// Reduce ops, LRN, InstanceNormalization, the pools (1 to 3 spatial axes,
// ceil_mode, count_include_pad, dilations, asymmetric pads), and Gemm,
// MatMul, Conv and ConvTranspose on the blocked GEMM below. Ops whose
// operands are all known at build time fold to constants (c.compute), which
// is how shape
// arithmetic (Shape, Gather, Concat, Unsqueeze feeding a Reshape) and
// ConstantOfShape weights resolve. BatchNormalization (inference) is folded
// into a per-channel scale and shift at build time; Identity and Dropout
// pass their input through; Constant, and Gemm's transposes and alpha/beta
// on constant operands, are resolved at build time. Ops with several
// outputs set nodeCtx.more (Split, Dropout's mask).
//
// # GEMM and convolution
//
// gemm.go is a GotoBLAS-style float32 product: B is packed into panels 16
// columns wide and A into panels 4 rows tall per cache block, and a
// micro-kernel keeps a 4×16 tile of C in registers. With GOEXPERIMENT=simd
// on amd64 (Go's simd/archsimd) the micro-kernel uses AVX2 FMA when the CPU
// has it (gemm_kernel_simd.go); otherwise, and in default builds, a
// portable Go kernel runs (gemm_kernel_go.go). Conv is im2col (any group,
// stride, dilation and padding; skipped for 1×1 stride-1 convolutions)
// followed by the product, per image and group. Constant Gemm weights are
// packed once, when the graph is built. A BatchNormalization that alone
// reads a Conv's output is folded into the Conv's weights and bias, and a
// Relu that alone reads a Conv's or Gemm's output is applied in the same
// kernel (graphBuilder.fused maps those nodes to the fused value).
//
// # Threads
//
// spec.Threads is not honoured: the kernels run on one goroutine each, and
// gorgonia's native ops size their parallelism from GOMAXPROCS,
// process-wide. Nor does the instance's CPU pinning fully apply: the
// tape machine runs its instructions on a goroutine it starts for each run.
// Panics on that goroutine cannot be recovered by the caller, so the custom
// ops recover their own, and inputs are checked against the metadata before
// a graph is chosen; panics while building or binding are returned as
// errors.
//
// The backend runs on the CPU only: a GPU device is refused at Load. Empty
// tensors (a 0 axis) are build-time constants, never graph values.
package gorgonia
