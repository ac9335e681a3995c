package gorgonia

import "sync"

// A blocked, packed single-precision matrix product (the GotoBLAS scheme):
// C is computed in blocks of gemmMC rows by gemmNC columns, summing over
// gemmKC-deep slices of K. Each slice of B is packed once into column
// panels gemmNR wide, each block of A into row panels gemmMR tall, both laid
// out in the order the micro-kernel reads them, so that its loads stream
// through L1 with unit stride. The micro-kernel (gemmKernel: SIMD under
// GOEXPERIMENT=simd on amd64 with AVX2 and FMA, portable Go otherwise, see
// gemm_kernel_*.go) keeps one gemmMR×gemmNR tile of C in registers over a
// whole K slice.

const (
	gemmMR = 4   // rows of the micro-tile
	gemmNR = 16  // columns of the micro-tile (two 8-lane vectors)
	gemmKC = 256 // depth of a packed slice: an A panel and a B panel fit L1
	gemmMC = 128 // rows of a packed A block (L2)
	gemmNC = 3072
)

// packA's fast path reads exactly four rows.
var _ = [1]struct{}{}[gemmMR-4]

// gemmBufs are the packing buffers, reused across calls.
type gemmBufs struct{ a, b []float32 }

var gemmPool = sync.Pool{New: func() any { return new(gemmBufs) }}

// matView is a row-major matrix, read transposed when t is set: element
// (i, j) is data[i*ld+j], or data[j*ld+i] when transposed.
type matView struct {
	data []float32
	ld   int
	t    bool
}

func (v matView) at(i, j int) float32 {
	if v.t {
		return v.data[j*v.ld+i]
	}
	return v.data[i*v.ld+j]
}

// sgemm computes C = A·B, or C += A·B when acc is set, for an m×k A, a k×n B
// and an m×n C of row stride ldc.
func sgemm(m, n, k int, a, b matView, c []float32, ldc int, acc bool) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if !acc {
			for i := range m {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	sgemmPacked(m, n, k, a, b, nil, c, ldc, acc)
}

// sgemmPacked is sgemm with B, when pre is not nil, already packed by
// prepackB (b is then ignored): a constant B, such as a layer's weights, is
// packed once when the graph is built rather than on every run.
func sgemmPacked(m, n, k int, a, b matView, pre []float32, c []float32, ldc int, acc bool) {
	bufs := gemmPool.Get().(*gemmBufs)
	defer gemmPool.Put(bufs)
	off := 0
	for jc := 0; jc < n; jc += gemmNC {
		nc := min(gemmNC, n-jc)
		for pc := 0; pc < k; pc += gemmKC {
			kc := min(gemmKC, k-pc)
			var pb []float32
			if pre == nil {
				bufs.b = packB(bufs.b, b, pc, jc, kc, nc)
				pb = bufs.b
			} else {
				size := (nc + gemmNR - 1) / gemmNR * gemmNR * kc
				pb, off = pre[off:off+size], off+size
			}
			first := pc == 0 && !acc
			for ic := 0; ic < m; ic += gemmMC {
				mc := min(gemmMC, m-ic)
				bufs.a = packA(bufs.a, a, ic, pc, mc, kc)
				macroKernel(mc, nc, kc, bufs.a, pb, c[ic*ldc+jc:], ldc, first)
			}
		}
	}
}

// prepackB packs all of the k×n B, block after block in the order
// sgemmPacked reads them.
func prepackB(b matView, k, n int) []float32 {
	var out, buf []float32
	for jc := 0; jc < n; jc += gemmNC {
		nc := min(gemmNC, n-jc)
		for pc := 0; pc < k; pc += gemmKC {
			buf = packB(buf, b, pc, jc, min(gemmKC, k-pc), nc)
			out = append(out, buf...)
		}
	}
	return out
}

// packB copies B[pc:pc+kc, jc:jc+nc] into panels of gemmNR columns, each
// stored k-major (gemmNR values per k), zero-padding the last panel.
func packB(buf []float32, b matView, pc, jc, kc, nc int) []float32 {
	panels := (nc + gemmNR - 1) / gemmNR
	buf = grow(buf, panels*gemmNR*kc)
	for p := range panels {
		dst := buf[p*gemmNR*kc : (p+1)*gemmNR*kc]
		j0 := jc + p*gemmNR
		w := min(gemmNR, jc+nc-j0)
		if !b.t && w == gemmNR {
			for kk := range kc {
				row := (pc+kk)*b.ld + j0
				copy(dst[kk*gemmNR:kk*gemmNR+gemmNR], b.data[row:row+gemmNR])
			}
			continue
		}
		for kk := range kc {
			d := dst[kk*gemmNR : kk*gemmNR+gemmNR]
			for j := range w {
				d[j] = b.at(pc+kk, j0+j)
			}
			clear(d[w:])
		}
	}
	return buf
}

// packA copies A[ic:ic+mc, pc:pc+kc] into panels of gemmMR rows, each
// stored k-major (gemmMR values per k), zero-padding the last panel.
func packA(buf []float32, a matView, ic, pc, mc, kc int) []float32 {
	panels := (mc + gemmMR - 1) / gemmMR
	buf = grow(buf, panels*gemmMR*kc)
	for p := range panels {
		dst := buf[p*gemmMR*kc : (p+1)*gemmMR*kc]
		i0 := ic + p*gemmMR
		h := min(gemmMR, ic+mc-i0)
		if h < gemmMR {
			clear(dst)
		}
		if a.t {
			for kk := range kc {
				copy(dst[kk*gemmMR:kk*gemmMR+h], a.data[(pc+kk)*a.ld+i0:])
			}
			continue
		}
		if h == gemmMR {
			// Four rows read side by side, written in order.
			r0 := a.data[i0*a.ld+pc : i0*a.ld+pc+kc]
			r1 := a.data[(i0+1)*a.ld+pc : (i0+1)*a.ld+pc+kc]
			r2 := a.data[(i0+2)*a.ld+pc : (i0+2)*a.ld+pc+kc]
			r3 := a.data[(i0+3)*a.ld+pc : (i0+3)*a.ld+pc+kc]
			for kk := range kc {
				d := dst[kk*gemmMR : kk*gemmMR+4 : kk*gemmMR+4]
				d[0], d[1], d[2], d[3] = r0[kk], r1[kk], r2[kk], r3[kk]
			}
			continue
		}
		for i := range h {
			row := a.data[(i0+i)*a.ld+pc : (i0+i)*a.ld+pc+kc]
			for kk, v := range row {
				dst[kk*gemmMR+i] = v
			}
		}
	}
	return buf
}

// macroKernel multiplies a packed mc×kc block of A by a packed kc×nc slice
// of B into C (stride ldc), overwriting C when first, else adding to it.
func macroKernel(mc, nc, kc int, pa, pb, c []float32, ldc int, first bool) {
	var tile [gemmMR * gemmNR]float32
	for jr := 0; jr < nc; jr += gemmNR {
		w := min(gemmNR, nc-jr)
		bp := pb[(jr/gemmNR)*gemmNR*kc:]
		for ir := 0; ir < mc; ir += gemmMR {
			h := min(gemmMR, mc-ir)
			ap := pa[(ir/gemmMR)*gemmMR*kc:]
			if w == gemmNR && h == gemmMR {
				gemmKernel(kc, ap, bp, c[ir*ldc+jr:], ldc, first)
				continue
			}
			// A partial tile: compute it whole into tile, then copy the
			// part that exists.
			gemmKernel(kc, ap, bp, tile[:], gemmNR, true)
			for i := range h {
				dst := c[(ir+i)*ldc+jr : (ir+i)*ldc+jr+w]
				src := tile[i*gemmNR : i*gemmNR+w]
				if first {
					copy(dst, src)
					continue
				}
				for j, v := range src {
					dst[j] += v
				}
			}
		}
	}
}

// gemmKernelGo is the portable micro-kernel: C[4×16] (+)= Apanel·Bpanel over
// kc. It works in 2×4 sub-tiles, whose eight scalar accumulators the
// compiler keeps in registers, re-reading the panels (which are in L1) once
// per sub-tile.
func gemmKernelGo(kc int, a, b, c []float32, ldc int, first bool) {
	a, b = a[:kc*gemmMR], b[:kc*gemmNR]
	for i := 0; i < gemmMR; i += 2 {
		for j := 0; j < gemmNR; j += 4 {
			var r00, r01, r02, r03, r10, r11, r12, r13 float32
			for p := range kc {
				bv := b[p*gemmNR+j : p*gemmNR+j+4 : p*gemmNR+j+4]
				av := a[p*gemmMR+i : p*gemmMR+i+2 : p*gemmMR+i+2]
				b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
				a0, a1 := av[0], av[1]
				r00 += a0 * b0
				r01 += a0 * b1
				r02 += a0 * b2
				r03 += a0 * b3
				r10 += a1 * b0
				r11 += a1 * b1
				r12 += a1 * b2
				r13 += a1 * b3
			}
			storeRow(c[i*ldc+j:i*ldc+j+4], [4]float32{r00, r01, r02, r03}, first)
			storeRow(c[(i+1)*ldc+j:(i+1)*ldc+j+4], [4]float32{r10, r11, r12, r13}, first)
		}
	}
}

func storeRow(dst []float32, r [4]float32, first bool) {
	if first {
		copy(dst, r[:])
		return
	}
	for j, v := range r {
		dst[j] += v
	}
}

// grow returns buf with length n, reallocating when it is too small.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}
