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

		"Add": arith(binAdd), // native Add when shapes match, else custom broadcast
		"Sub": arith(binSub), // native Sub, else custom broadcast
		"Mul": arith(binMul), // native HadamardProd, else custom broadcast
		"Div": arith(binDiv), // native HadamardDiv, else custom broadcast

		"Relu":      unary(gg.Rectify), // native
		"LeakyRelu": buildLeakyRelu,    // native LeakyRelu
		"Sigmoid":   unary(gg.Sigmoid), // native
		"Tanh":      unary(gg.Tanh),    // native
		"Exp":       unary(gg.Exp),     // native
		"Log":       unary(gg.Log),     // native
		"Softmax":   buildSoftmax,      // native SoftMax (+ custom reshapes for the 2-D coercion before opset 13)

		"Reshape":   buildReshape,   // custom (a copy; gorgonia's Reshape aliases its input)
		"Flatten":   buildFlatten,   // custom reshape
		"Transpose": buildTranspose, // native Transpose; folded at build for constants
		"Concat":    buildConcat,    // native Concat
		"Identity":  passThrough,    // no op: the output is the input
		"Dropout":   buildDropout,   // no op at inference
		"Constant":  buildConstant,  // a build-time constant

		"Conv":               buildConv,               // native Conv2d (+ custom zero pad for asymmetric pads); bias: custom broadcast
		"MaxPool":            buildMaxPool,            // native MaxPool2D for symmetric pads; custom pool otherwise
		"AveragePool":        buildAveragePool,        // custom pool (gorgonia's AveragePool2D divides by the wrong count)
		"GlobalAveragePool":  buildGlobalAveragePool,  // native GlobalAveragePool2D (+ custom reshapes for non-2-D)
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
// match, the broadcasting custom op otherwise.
func elementwise(kind binKind, a, b *gg.Node) (*gg.Node, error) {
	if a.Shape().Eq(b.Shape()) {
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
		a, err := c.node(0)
		if err != nil {
			return nil, err
		}
		b, err := c.node(1)
		if err != nil {
			return nil, err
		}
		return nodeValue(elementwise(kind, a, b))
	}
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

// buildSoftmax: from opset 13 Softmax normalises along one axis (default
// -1); before, it coerced the input to 2-D at axis (default 1) and
// normalised each row.
func buildSoftmax(c *nodeCtx) (*value, error) {
	x, err := c.node(0)
	if err != nil {
		return nil, err
	}
	def := int64(-1)
	if c.p.opset < 13 {
		def = 1
	}
	a, err := c.attrs.int("axis", def)
	if err != nil {
		return nil, err
	}
	shape := []int(x.Shape())
	axis, err := normAxis(int(a), len(shape))
	if err != nil {
		return nil, err
	}
	if c.p.opset >= 13 || axis == len(shape)-1 {
		return nodeValue(gg.SoftMax(x, axis))
	}
	flat, err := reshapeNode(x, []int{numElems(shape[:axis]), numElems(shape[axis:])})
	if err != nil {
		return nil, err
	}
	y, err := gg.SoftMax(flat, 1)
	if err != nil {
		return nil, err
	}
	return nodeValue(reshapeNode(y, shape))
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
