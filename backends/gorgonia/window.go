package gorgonia

import (
	"fmt"
	"slices"
)

// geom is the geometry of a sliding window (Conv and the pools) over an
// N,C,spatial... tensor of 1 to 3 spatial axes, held as three axes (missing
// leading axes have size 1, kernel 1, stride 1, no pads) so that one loop
// nest serves 1-D, 2-D and 3-D.
type geom struct {
	rank                       int // spatial axes in the model (1 to 3)
	in, out                    [3]int
	kernel, strides, dilations [3]int
	padBegin, padEnd           [3]int
}

// inSize and outSize are the elements of one spatial plane (volume).
func (g *geom) inSize() int  { return g.in[0] * g.in[1] * g.in[2] }
func (g *geom) outSize() int { return g.out[0] * g.out[1] * g.out[2] }
func (g *geom) taps() int    { return g.kernel[0] * g.kernel[1] * g.kernel[2] }

func (g *geom) String() string {
	return fmt.Sprintf("in%v out%v k%v s%v d%v pads%v%v", g.in, g.out, g.kernel, g.strides, g.dilations, g.padBegin, g.padEnd)
}

// spatialInts reads an INTS attribute of one value per spatial axis, def
// when absent, each at least least.
func (c *nodeCtx) spatialInts(name string, rank, def, least int) ([]int, error) {
	d := make([]int, rank)
	for i := range d {
		d[i] = def
	}
	v, err := c.attrs.ints(name, d)
	if err != nil {
		return nil, err
	}
	if len(v) != rank {
		return nil, fmt.Errorf("%s %v: want %d values, one per spatial axis", name, v, rank)
	}
	for _, x := range v {
		if x < least {
			return nil, fmt.Errorf("%s %v: values must be at least %d", name, v, least)
		}
	}
	return v, nil
}

// newGeom reads strides and dilations and returns the geometry of a window
// of kernel over an input of shape xs (N,C,spatial...), without pads or
// output size yet.
func (c *nodeCtx) newGeom(xs, kernel []int) (*geom, error) {
	rank := len(xs) - 2
	strides, err := c.spatialInts("strides", rank, 1, 1)
	if err != nil {
		return nil, err
	}
	dil, err := c.spatialInts("dilations", rank, 1, 1)
	if err != nil {
		return nil, err
	}
	g := &geom{rank: rank, in: [3]int{1, 1, 1}, out: [3]int{1, 1, 1}, kernel: [3]int{1, 1, 1}, strides: [3]int{1, 1, 1}, dilations: [3]int{1, 1, 1}}
	off := 3 - rank
	for i := range rank {
		g.in[off+i], g.kernel[off+i], g.strides[off+i], g.dilations[off+i] = xs[2+i], kernel[i], strides[i], dil[i]
	}
	return g, nil
}

// window reads the sliding-window attributes of Conv and the pools for an
// input of shape xs (N,C,spatial...) and the given kernel: strides,
// dilations, and pads or auto_pad, and with ceil the pools' ceil_mode. It
// refuses windows that do not fit.
func (c *nodeCtx) window(xs, kernel []int, ceil bool) (*geom, error) {
	rank := len(xs) - 2
	if rank < 1 || rank > 3 {
		return nil, fmt.Errorf("input of shape %v: 1 to 3 spatial axes are supported by the gorgonia backend", xs)
	}
	if len(kernel) != rank {
		return nil, fmt.Errorf("kernel %v does not fit input %v", kernel, xs)
	}
	g, err := c.newGeom(xs, kernel)
	if err != nil {
		return nil, err
	}
	off := 3 - rank
	autoPad, err := c.attrs.str("auto_pad", "NOTSET")
	if err != nil {
		return nil, err
	}
	switch autoPad {
	case "NOTSET":
		pads, err := c.attrs.ints("pads", make([]int, 2*rank))
		if err != nil {
			return nil, err
		}
		if len(pads) != 2*rank || slices.Min(pads) < 0 {
			return nil, fmt.Errorf("pads %v: want %d values >= 0", pads, 2*rank)
		}
		for i := range rank {
			g.padBegin[off+i], g.padEnd[off+i] = pads[i], pads[rank+i]
		}
	case "VALID":
	case "SAME_UPPER", "SAME_LOWER":
		for a := off; a < 3; a++ {
			out := (g.in[a] + g.strides[a] - 1) / g.strides[a]
			total := max(0, (out-1)*g.strides[a]+(g.kernel[a]-1)*g.dilations[a]+1-g.in[a])
			g.padBegin[a] = total / 2
			if autoPad == "SAME_LOWER" {
				g.padBegin[a] = total - total/2
			}
			g.padEnd[a] = total - g.padBegin[a]
		}
	default:
		return nil, fmt.Errorf("auto_pad %q is not supported", autoPad)
	}
	for a := range 3 {
		g.out[a] = g.axisOut(a, ceil)
		if g.out[a] < 1 {
			return nil, fmt.Errorf("kernel %v does not fit input %v with pads %v%v", kernel, xs, g.padBegin, g.padEnd)
		}
	}
	return g, nil
}

// axisOut is the output extent along axis a. With ceil the last partial
// window counts, unless it would start in the end padding (the rule ONNX
// Runtime and PyTorch follow).
func (g *geom) axisOut(a int, ceil bool) int {
	span := g.dilations[a]*(g.kernel[a]-1) + 1
	padded := g.in[a] + g.padBegin[a] + g.padEnd[a]
	if padded < span {
		return 0
	}
	n := (padded - span) / g.strides[a]
	if ceil && (padded-span)%g.strides[a] != 0 {
		n++
		if n*g.strides[a] >= g.in[a]+g.padBegin[a] {
			n--
		}
	}
	return n + 1
}

// outShape is the output shape for n images of ch channels.
func (g *geom) outShape(n, ch int) []int {
	return append([]int{n, ch}, g.out[3-g.rank:]...)
}
