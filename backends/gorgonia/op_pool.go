package gorgonia

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	gg "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// window2D is the geometry of a 2-D sliding window over NCHW: kernel,
// strides and dilations per spatial axis (height, width), and pads in ONNX
// order: top, left, bottom, right.
type window2D struct {
	kernel, strides, dilations [2]int
	pads                       [4]int
}

// outSize is the output extent along spatial axis ax (0 height, 1 width) of
// an input extent in. With ceil the last partial window counts, unless it
// would start in the end padding (the rule ONNX Runtime and PyTorch follow).
func (w window2D) outSize(ax, in int, ceil bool) int {
	span := w.dilations[ax]*(w.kernel[ax]-1) + 1
	padded := in + w.pads[ax] + w.pads[ax+2]
	if padded < span {
		return 0
	}
	n := (padded - span) / w.strides[ax]
	if ceil && (padded-span)%w.strides[ax] != 0 {
		n++
		if n*w.strides[ax] >= in+w.pads[ax] {
			n--
		}
	}
	return n + 1
}

// poolOp is MaxPool or AveragePool on NCHW with ONNX semantics: asymmetric
// pads, dilations, ceil_mode and count_include_pad. It is a custom op because
// gorgonia's AveragePool2D divides every window by the input width rather
// than by its element count and applies explicit (4-value) pads the wrong
// way round; MaxPool uses gorgonia's MaxPool2D when the pads are symmetric
// and there is no dilation or ceil mode.
type poolOp struct {
	opBase
	avg      bool // else max
	countPad bool // AveragePool count_include_pad
	w        window2D
	in, out  []int // NCHW
}

func (op *poolOp) Arity() int    { return 1 }
func (op *poolOp) Type() hm.Type { return hm.NewFnType(tensorType(4), tensorType(4)) }
func (op *poolOp) InferShape(...gg.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(append([]int(nil), op.out...)), nil
}
func (op *poolOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *poolOp) Hashcode() uint32      { return hashOf(op) }
func (op *poolOp) String() string {
	kind := "MaxPool"
	if op.avg {
		kind = fmt.Sprintf("AveragePool{countPad:%t}", op.countPad)
	}
	return fmt.Sprintf("Onnx%s%+v%v→%v", kind, op.w, op.in, op.out)
}

func (op *poolOp) Do(vals ...gg.Value) (v gg.Value, err error) {
	defer recoverInto(op, &err)
	in, _, err := f32Data(vals[0])
	if err != nil {
		return nil, err
	}
	if len(in) != numElems(op.in) {
		return nil, fmt.Errorf("%v: input holds %d elements", op, len(in))
	}
	out := make([]float32, numElems(op.out))
	inPlane, outPlane := op.in[2]*op.in[3], op.out[2]*op.out[3]
	for p := 0; p < op.in[0]*op.in[1]; p++ {
		op.plane(out[p*outPlane:(p+1)*outPlane], in[p*inPlane:(p+1)*inPlane])
	}
	return newDense(op.out, out), nil
}

// plane pools one H×W plane.
func (op *poolOp) plane(out, in []float32) {
	w := op.w
	H, W := op.in[2], op.in[3]
	for oh := 0; oh < op.out[2]; oh++ {
		hs := oh*w.strides[0] - w.pads[0]
		for ow := 0; ow < op.out[3]; ow++ {
			ws := ow*w.strides[1] - w.pads[1]
			acc, n := float32(0), 0
			if !op.avg {
				acc = float32(math.Inf(-1))
			}
			for kh := 0; kh < w.kernel[0]; kh++ {
				ih := hs + kh*w.dilations[0]
				if ih < 0 || ih >= H {
					continue
				}
				for kw := 0; kw < w.kernel[1]; kw++ {
					iw := ws + kw*w.dilations[1]
					if iw < 0 || iw >= W {
						continue
					}
					x := in[ih*W+iw]
					if op.avg {
						acc += x
					} else if x > acc {
						acc = x
					}
					n++
				}
			}
			if op.avg {
				if op.countPad {
					n = w.taps(0, hs, H) * w.taps(1, ws, W)
				}
				if n > 0 {
					acc /= float32(n)
				}
			}
			out[oh*op.out[3]+ow] = acc
		}
	}
}

// taps counts the window's taps along axis ax, starting at start, that fall
// inside the padded input [-pad_begin, in+pad_end).
func (w window2D) taps(ax, start, in int) int {
	n := 0
	for k := 0; k < w.kernel[ax]; k++ {
		if i := start + k*w.dilations[ax]; i >= -w.pads[ax] && i < in+w.pads[ax+2] {
			n++
		}
	}
	return n
}

// padOp zero-pads the spatial axes of NCHW by pads (top, left, bottom,
// right). Conv uses it for asymmetric pads, which gorgonia's Conv2d (one pad
// per axis, applied to both sides) cannot express.
type padOp struct {
	opBase
	pads    [4]int
	in, out []int
}

func newPadOp(in []int, pads [4]int) *padOp {
	out := []int{in[0], in[1], in[2] + pads[0] + pads[2], in[3] + pads[1] + pads[3]}
	return &padOp{pads: pads, in: in, out: out}
}

func (op *padOp) Arity() int    { return 1 }
func (op *padOp) Type() hm.Type { return hm.NewFnType(tensorType(4), tensorType(4)) }
func (op *padOp) InferShape(...gg.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(append([]int(nil), op.out...)), nil
}
func (op *padOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *padOp) Hashcode() uint32      { return hashOf(op) }
func (op *padOp) String() string        { return fmt.Sprintf("ZeroPad%v%v", op.pads, op.in) }

func (op *padOp) Do(vals ...gg.Value) (v gg.Value, err error) {
	defer recoverInto(op, &err)
	in, _, err := f32Data(vals[0])
	if err != nil {
		return nil, err
	}
	if len(in) != numElems(op.in) {
		return nil, fmt.Errorf("%v: input holds %d elements", op, len(in))
	}
	out := make([]float32, numElems(op.out))
	H, W, OH, OW := op.in[2], op.in[3], op.out[2], op.out[3]
	for p := 0; p < op.in[0]*op.in[1]; p++ {
		for h := 0; h < H; h++ {
			src := in[(p*H+h)*W : (p*H+h+1)*W]
			copy(out[(p*OH+h+op.pads[0])*OW+op.pads[1]:], src)
		}
	}
	return newDense(op.out, out), nil
}
