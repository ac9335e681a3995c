package gorgonia

import (
	"fmt"
	"slices"

	gg "gorgonia.org/gorgonia"
)

// buildConvTranspose: the gradient of Conv, over 1 to 3 spatial axes with
// groups, strides, dilations, pads, output_padding, and output_shape or
// auto_pad. Per image and group it multiplies the transposed weights by the
// input (the blocked sgemm) and scatters the columns into the output
// (col2im).
func buildConvTranspose(c *nodeCtx) (*value, error) {
	x, w, err := c.twoNodes()
	if err != nil {
		return nil, err
	}
	xs, ws := []int(x.Shape()), []int(w.Shape())
	group, err := c.attrs.int("group", 1)
	if err != nil {
		return nil, err
	}
	rank := len(xs) - 2
	if rank < 1 || rank > 3 || len(ws) != len(xs) || group < 1 || ws[0] != xs[1] || xs[1]%int(group) != 0 {
		return nil, fmt.Errorf("weight of shape %v does not fit input %v with group %d (1 to 3 spatial axes)", ws, xs, group)
	}
	if k, err := c.attrs.ints("kernel_shape", ws[2:]); err != nil || !slices.Equal(k, ws[2:]) {
		return nil, fmtErr(err, "kernel_shape %v does not match the weight %v", k, ws)
	}
	g, err := c.transposedWindow(xs, ws[2:])
	if err != nil {
		return nil, err
	}
	m := ws[1] * int(group)
	k := &convTKernel{g: g, n: xs[0], c: xs[1], m: m, group: int(group)}
	inputs := []*gg.Node{x, w}
	if c.opt(2) != nil {
		b, err := c.node(2)
		if err != nil {
			return nil, err
		}
		if s := b.Shape(); len(s) != 1 || s[0] != m {
			return nil, fmt.Errorf("bias of shape %v: want [%d]", s, m)
		}
		inputs = append(inputs, b)
	}
	return c.apply(g.outShape(xs[0], m), k.run, inputs...)
}

// transposedWindow reads ConvTranspose's window attributes. In the geom,
// in is the (small) input and out the output; the pads are cut from the
// full output, stride·(in-1) + output_padding + (kernel-1)·dilation + 1.
func (c *nodeCtx) transposedWindow(xs, kernel []int) (*geom, error) {
	rank := len(xs) - 2
	g, err := c.newGeom(xs, kernel)
	if err != nil {
		return nil, err
	}
	outPad, err := c.spatialInts("output_padding", rank, 0, 0)
	if err != nil {
		return nil, err
	}
	pads, err := c.attrs.ints("pads", make([]int, 2*rank))
	if err != nil {
		return nil, err
	}
	if len(pads) != 2*rank || slices.Min(pads) < 0 {
		return nil, fmt.Errorf("pads %v: want %d values >= 0", pads, 2*rank)
	}
	autoPad, err := c.attrs.str("auto_pad", "NOTSET")
	if err != nil {
		return nil, err
	}
	outShape, err := c.attrs.ints("output_shape", nil)
	if err != nil {
		return nil, err
	}
	if outShape != nil && len(outShape) != rank {
		return nil, fmt.Errorf("output_shape %v: want %d values", outShape, rank)
	}
	off := 3 - rank
	for i := range rank {
		a := off + i
		full := g.strides[a]*(g.in[a]-1) + outPad[i] + (g.kernel[a]-1)*g.dilations[a] + 1
		switch {
		case outShape != nil || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER":
			want := g.in[a] * g.strides[a]
			if outShape != nil {
				want = outShape[i]
			}
			total := full - want
			if total < 0 {
				return nil, fmt.Errorf("output_shape %v is larger than the full output", outShape)
			}
			// ONNX: SAME_UPPER puts the odd pad at the end, otherwise
			// (SAME_LOWER, or output_shape alone) at the start.
			g.padBegin[a] = total - total/2
			if autoPad == "SAME_UPPER" {
				g.padBegin[a] = total / 2
			}
			g.padEnd[a] = total - g.padBegin[a]
		case autoPad == "NOTSET" || autoPad == "VALID":
			if autoPad == "NOTSET" {
				g.padBegin[a], g.padEnd[a] = pads[i], pads[rank+i]
			}
		default:
			return nil, fmt.Errorf("auto_pad %q is not supported", autoPad)
		}
		g.out[a] = full - g.padBegin[a] - g.padEnd[a]
		if g.out[a] < 1 {
			return nil, fmt.Errorf("pads %v leave no output for input %v", pads, xs)
		}
	}
	return g, nil
}

// convTKernel computes one ConvTranspose: n images of c channels into m
// channels, in group groups.
type convTKernel struct {
	g              *geom
	n, c, m, group int
}

func (k *convTKernel) run(out []float32, ins [][]float32) {
	g := k.g
	x, w := ins[0], ins[1]
	cg, mg := k.c/k.group, k.m/k.group
	rows, cols := mg*g.taps(), g.inSize()
	buf := scratchPool.Get().(*[]float32)
	defer scratchPool.Put(buf)
	*buf = grow(*buf, rows*cols)
	col := *buf
	for n := range k.n {
		for gi := range k.group {
			// col[(mo, tap), i] = Σ_c W[c, mo, tap] · x[c, i]
			sgemm(rows, cols, cg, matView{data: w[gi*cg*rows:], ld: rows, t: true},
				matView{data: x[(n*k.c+gi*cg)*cols:], ld: cols}, col, cols, false)
			for mo := range mg {
				dst := out[(n*k.m+gi*mg+mo)*g.outSize() : (n*k.m+gi*mg+mo+1)*g.outSize()]
				col2im(dst, col[mo*g.taps()*cols:(mo+1)*g.taps()*cols], g)
			}
		}
	}
	if len(ins) > 2 {
		for n := range k.n {
			for m, bias := range ins[2] {
				row := out[(n*k.m+m)*g.outSize() : (n*k.m+m+1)*g.outSize()]
				for j := range row {
					row[j] += bias
				}
			}
		}
	}
}

// col2im adds, for one output channel, each tap's row of col (one value per
// input position) into the output position that tap reaches.
func col2im(dst, col []float32, g *geom) {
	row := 0
	for k0 := range g.kernel[0] {
		for k1 := range g.kernel[1] {
			for k2 := range g.kernel[2] {
				src := col[row*g.inSize() : (row+1)*g.inSize()]
				row++
				i := 0
				for i0 := range g.in[0] {
					o0 := i0*g.strides[0] + k0*g.dilations[0] - g.padBegin[0]
					for i1 := range g.in[1] {
						o1 := i1*g.strides[1] + k1*g.dilations[1] - g.padBegin[1]
						if o0 < 0 || o0 >= g.out[0] || o1 < 0 || o1 >= g.out[1] {
							i += g.in[2]
							continue
						}
						base := (o0*g.out[1] + o1) * g.out[2]
						for i2 := range g.in[2] {
							if o2 := i2*g.strides[2] + k2*g.dilations[2] - g.padBegin[2]; o2 >= 0 && o2 < g.out[2] {
								dst[base+o2] += src[i]
							}
							i++
						}
					}
				}
			}
		}
	}
}
