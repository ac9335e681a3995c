package gorgonia

import (
	"fmt"
	"slices"

	gg "gorgonia.org/gorgonia"
)

// opBuilder adds one ONNX node to the graph and returns its (first) output.
type opBuilder func(c *nodeCtx) (*value, error)

// opBuilders is every op the backend supports (default ONNX domain), and how
// each is built. "native" means gorgonia's own op computes it; "custom"
// means an Op of this package (customop.go, op_*.go); "composed" means a
// combination of the two, or work done once at build time. The table is long
// because it is the list.
var opBuilders map[string]opBuilder

func init() {
	opBuilders = map[string]opBuilder{
		"Gemm":   buildGemm,   // native Mul (+ Transpose); alpha, beta and transposes of weights folded at build; bias: Add or custom broadcast
		"MatMul": buildMatMul, // native Mul / BatchedMatMul, with custom reshapes for N-D and 1-D operands

		"Add": arith(binAdd), // native Add when shapes match (custom, with the Relu, when one alone reads it), else custom broadcast
		"Sub": arith(binSub), // native Sub, else custom broadcast
		"Mul": arith(binMul), // native HadamardProd, else custom broadcast
		"Div": arith(binDiv), // native HadamardDiv, else custom broadcast

		"Relu":        opRelu,              // custom kernel: one pass (gorgonia's Rectify takes three)
		"LeakyRelu":   buildLeakyRelu,      // native LeakyRelu
		"Sigmoid":     unary(gg.Sigmoid),   // native
		"Tanh":        unary(gg.Tanh),      // native
		"Exp":         unary(gg.Exp),       // native
		"Log":         unary(gg.Log),       // native
		"Softmax":     buildSoftmax(false), // custom kernel (both axis semantics: per axis from opset 13, 2-D coercion before)
		"LogSoftmax":  buildSoftmax(true),  // custom kernel, as Softmax
		"Neg":         opNeg,               // custom kernel, as are all below unless marked
		"Abs":         opAbs,
		"Sqrt":        opSqrt,
		"Reciprocal":  opReciprocal,
		"Floor":       opFloor,
		"Ceil":        opCeil,
		"Erf":         opErf,
		"Sign":        opSign,
		"Softsign":    opSoftsign,
		"Softplus":    opSoftplus,
		"Elu":         opElu,
		"Selu":        opSelu,
		"HardSigmoid": opHardSigmoid,
		"Shrink":      opShrink,
		"Clip":        opClip,                // bounds: attributes before opset 11, constant inputs from 11
		"Sum":         naryOp(binAdd, false), // pairwise broadcasting Add
		"Mean":        naryOp(binAdd, true),
		"Max":         naryOp(binMax, false),
		"Min":         naryOp(binMin, false),
		"Pow":         binaryOp(binPow),   // custom broadcast
		"PRelu":       binaryOp(binPRelu), // custom broadcast (slope to X)

		"Reshape":   buildReshape,   // custom (a copy; gorgonia's Reshape aliases its input)
		"Flatten":   buildFlatten,   // custom reshape
		"Transpose": buildTranspose, // native Transpose; folded at build for constants
		"Concat":    buildConcat,    // native Concat
		"Identity":  passThrough,    // no op: the output is the input
		"Dropout":   buildDropout,   // no op at inference
		"Constant":  buildConstant,  // a build-time constant

		"ConstantOfShape": buildConstantOfShape, // a build-time constant
		"Shape":           buildShape,           // a build-time constant
		"Unsqueeze":       buildUnsqueeze,       // custom reshape; axes: attribute before opset 13, input from 13
		"Squeeze":         buildSqueeze,         // custom reshape; axes as Unsqueeze
		"Slice":           buildSlice,           // custom index map (ops_index.go); folded for constants, as are all below
		"Split":           buildSplit,           // custom index map per output
		"Pad":             buildPad,             // custom index map: constant, reflect, edge
		"Tile":            buildTile,            // custom index map
		"Expand":          buildExpand,          // custom index map
		"Gather":          buildGather,          // custom index map (constant indices)
		"ReduceSum":       buildReduce,          // custom; axes: attribute before opset 13 (18 for the others), input after
		"ReduceMean":      buildReduce,
		"ReduceMax":       buildReduce,
		"ReduceMin":       buildReduce,
		"ReduceProd":      buildReduce,
		"ReduceSumSquare": buildReduce,
		"ReduceL1":        buildReduce,
		"ReduceL2":        buildReduce,
		"ReduceLogSumExp": buildReduce,

		"InstanceNormalization": buildInstanceNormalization, // custom

		// Sequences are lists known at build time (ops_seq.go); positions
		// must be constants.
		"SequenceEmpty":      buildSequenceEmpty,      // an empty list
		"SequenceConstruct":  buildSequenceConstruct,  // a list of the inputs
		"SequenceInsert":     buildSequenceInsert,     // a new list; position optional (the end)
		"SequenceErase":      buildSequenceErase,      // a new list; position optional (the last)
		"SequenceAt":         buildSequenceAt,         // the element itself
		"SequenceLength":     buildSequenceLength,     // a build-time INT64 scalar
		"SplitToSequence":    buildSplitToSequence,    // Split's custom index maps, one per element; split scalar, vector or absent (keepdims)
		"ConcatFromSequence": buildConcatFromSequence, // Concat's custom kernel; new_axis stacks

		"Conv":               buildConv,               // custom: im2col + the blocked GEMM of gemm.go, groups, 1-3 spatial axes
		"MaxPool":            buildPool(true),         // custom (1-3 spatial axes, dilations, ceil_mode, asymmetric pads)
		"AveragePool":        buildPool(false),        // custom, as MaxPool, plus count_include_pad
		"GlobalAveragePool":  buildGlobalPool(false),  // custom
		"GlobalMaxPool":      buildGlobalPool(true),   // custom
		"LRN":                buildLRN,                // custom
		"ConvTranspose":      buildConvTranspose,      // custom: the blocked GEMM and col2im, groups, 1-3 spatial axes
		"BatchNormalization": buildBatchNormalization, // composed: x*a + b, a and b folded at build, custom broadcasts
	}
}

// SupportedOps lists the ONNX operators (default domain) the backend can
// build, sorted.
func SupportedOps() []string {
	ops := make([]string, 0, len(opBuilders))
	for op := range opBuilders {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

// nativeBinary are gorgonia's same-shape elementwise ops, by binKind.
var nativeBinary = [...]func(a, b *gg.Node) (*gg.Node, error){
	binAdd: gg.Add, binSub: gg.Sub, binMul: gg.HadamardProd, binDiv: gg.HadamardDiv,
}

// elementwise applies kind to a and b: gorgonia's op when their shapes
// match and it has one, the broadcasting custom op otherwise.
func elementwise(kind binKind, a, b *gg.Node) (*gg.Node, error) {
	if kind <= binDiv && a.Shape().Eq(b.Shape()) {
		return nativeBinary[kind](a, b)
	}
	op, err := newBroadcastOp(kind, a.Shape(), b.Shape())
	if err != nil {
		return nil, err
	}
	return gg.ApplyOp(op, a, b)
}

func arith(kind binKind) opBuilder {
	return func(c *nodeCtx) (*value, error) {
		if v, ok, err := c.foldIntInputs(kind); ok {
			return v, err
		}
		a, b, err := c.twoNodes()
		if err != nil {
			return nil, err
		}
		if kind == binAdd && a.Shape().Eq(b.Shape()) {
			if j := c.fuseRelu(); j >= 0 {
				// A residual block's Add then Relu: one pass, as ONNX
				// Runtime fuses them.
				v, err := c.apply(a.Shape(), func(out []float32, ins [][]float32) {
					x, y := ins[0][:len(out)], ins[1][:len(out)]
					for i := range out {
						out[i] = relu(x[i] + y[i])
					}
				}, a, b)
				if err == nil {
					c.fused[j] = v
				}
				return v, err
			}
		}
		return nodeValue(elementwise(kind, a, b))
	}
}

// relu is max(v, 0) that keeps a NaN a NaN, as ONNX's Relu does: the one
// definition for Relu and for the Relu fused into Conv, Gemm and Add.
func relu(v float32) float32 {
	if v < 0 {
		return 0
	}
	return v
}

// opRelu is Relu in one pass over its input.
func opRelu(c *nodeCtx) (*value, error) {
	x, err := c.node(0)
	if err != nil {
		return nil, err
	}
	return c.apply(x.Shape(), func(out []float32, ins [][]float32) {
		in := ins[0][:len(out)]
		for i, v := range in {
			out[i] = relu(v)
		}
	}, x)
}

func unary(f func(*gg.Node) (*gg.Node, error)) opBuilder {
	return func(c *nodeCtx) (*value, error) {
		x, err := c.node(0)
		if err != nil {
			return nil, err
		}
		return nodeValue(f(x))
	}
}

func buildLeakyRelu(c *nodeCtx) (*value, error) {
	alpha, err := c.attrs.float("alpha", 0.01)
	if err != nil {
		return nil, err
	}
	x, err := c.node(0)
	if err != nil {
		return nil, err
	}
	return nodeValue(gg.LeakyRelu(x, float64(alpha)))
}

// reshapeNode reshapes n to shape with the copying reshapeOp; it returns n
// itself when the shape is already that.
func reshapeNode(n *gg.Node, shape []int) (*gg.Node, error) {
	from := []int(n.Shape())
	if slices.Equal(from, shape) {
		return n, nil
	}
	if numElems(from) != numElems(shape) {
		return nil, fmt.Errorf("cannot reshape %v to %v", from, shape)
	}
	return gg.ApplyOp(&reshapeOp{from: append([]int(nil), from...), to: append([]int(nil), shape...)}, n)
}

// scalarNode is a constant node of shape [1] holding v.
func (b *graphBuilder) scalarNode(v float32) (*gg.Node, error) {
	return b.constNode(&constTensor{f32: []float32{v}})
}
