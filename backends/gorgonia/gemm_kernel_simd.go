//go:build goexperiment.simd && amd64

package gorgonia

import "simd/archsimd"

// gemmSIMD reports which micro-kernel runs: the AVX2/FMA one when the CPU has
// both, else the portable one.
var gemmSIMD = archsimd.X86.AVX2() && archsimd.X86.FMA()

// gemmKernelName names the micro-kernel in use, for benchmarks and logs.
func gemmKernelName() string {
	if gemmSIMD {
		return "avx2-fma (simd/archsimd)"
	}
	return "portable Go"
}

func gemmKernel(kc int, a, b, c []float32, ldc int, first bool) {
	if gemmSIMD {
		gemmKernelAVX2(kc, a, b, c, ldc, first)
		return
	}
	gemmKernelGo(kc, a, b, c, ldc, first)
}

// gemmKernelAVX2 keeps the 4×16 tile in eight 8-lane registers: per k it
// loads two vectors of B, broadcasts four values of A and issues eight fused
// multiply-adds. The loop is unrolled four times, which keeps Go's register
// allocator from shuffling the accumulators every step (measured in CPU
// time: about 1.4× the rolled loop). A 6×16 tile (twelve accumulators) made
// it spill.
func gemmKernelAVX2(kc int, a, b, c []float32, ldc int, first bool) {
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x8
	a, b = a[:kc*gemmMR], b[:kc*gemmNR]
	p := 0
	for ; p+4 <= kc; p += 4 {
		bp := b[p*gemmNR : p*gemmNR+4*gemmNR]
		ap := a[p*gemmMR : p*gemmMR+4*gemmMR]
		b0 := archsimd.LoadFloat32x8((*[8]float32)(bp[0:8]))
		b1 := archsimd.LoadFloat32x8((*[8]float32)(bp[8:16]))
		a0 := archsimd.BroadcastFloat32x8(ap[0])
		c00 = a0.MulAdd(b0, c00)
		c01 = a0.MulAdd(b1, c01)
		a1 := archsimd.BroadcastFloat32x8(ap[1])
		c10 = a1.MulAdd(b0, c10)
		c11 = a1.MulAdd(b1, c11)
		a2 := archsimd.BroadcastFloat32x8(ap[2])
		c20 = a2.MulAdd(b0, c20)
		c21 = a2.MulAdd(b1, c21)
		a3 := archsimd.BroadcastFloat32x8(ap[3])
		c30 = a3.MulAdd(b0, c30)
		c31 = a3.MulAdd(b1, c31)
		b0 = archsimd.LoadFloat32x8((*[8]float32)(bp[16:24]))
		b1 = archsimd.LoadFloat32x8((*[8]float32)(bp[24:32]))
		a0 = archsimd.BroadcastFloat32x8(ap[4])
		c00 = a0.MulAdd(b0, c00)
		c01 = a0.MulAdd(b1, c01)
		a1 = archsimd.BroadcastFloat32x8(ap[5])
		c10 = a1.MulAdd(b0, c10)
		c11 = a1.MulAdd(b1, c11)
		a2 = archsimd.BroadcastFloat32x8(ap[6])
		c20 = a2.MulAdd(b0, c20)
		c21 = a2.MulAdd(b1, c21)
		a3 = archsimd.BroadcastFloat32x8(ap[7])
		c30 = a3.MulAdd(b0, c30)
		c31 = a3.MulAdd(b1, c31)
		b0 = archsimd.LoadFloat32x8((*[8]float32)(bp[32:40]))
		b1 = archsimd.LoadFloat32x8((*[8]float32)(bp[40:48]))
		a0 = archsimd.BroadcastFloat32x8(ap[8])
		c00 = a0.MulAdd(b0, c00)
		c01 = a0.MulAdd(b1, c01)
		a1 = archsimd.BroadcastFloat32x8(ap[9])
		c10 = a1.MulAdd(b0, c10)
		c11 = a1.MulAdd(b1, c11)
		a2 = archsimd.BroadcastFloat32x8(ap[10])
		c20 = a2.MulAdd(b0, c20)
		c21 = a2.MulAdd(b1, c21)
		a3 = archsimd.BroadcastFloat32x8(ap[11])
		c30 = a3.MulAdd(b0, c30)
		c31 = a3.MulAdd(b1, c31)
		b0 = archsimd.LoadFloat32x8((*[8]float32)(bp[48:56]))
		b1 = archsimd.LoadFloat32x8((*[8]float32)(bp[56:64]))
		a0 = archsimd.BroadcastFloat32x8(ap[12])
		c00 = a0.MulAdd(b0, c00)
		c01 = a0.MulAdd(b1, c01)
		a1 = archsimd.BroadcastFloat32x8(ap[13])
		c10 = a1.MulAdd(b0, c10)
		c11 = a1.MulAdd(b1, c11)
		a2 = archsimd.BroadcastFloat32x8(ap[14])
		c20 = a2.MulAdd(b0, c20)
		c21 = a2.MulAdd(b1, c21)
		a3 = archsimd.BroadcastFloat32x8(ap[15])
		c30 = a3.MulAdd(b0, c30)
		c31 = a3.MulAdd(b1, c31)
	}
	for ; p < kc; p++ {
		bp := b[p*gemmNR : p*gemmNR+gemmNR]
		ap := a[p*gemmMR : p*gemmMR+gemmMR]
		b0 := archsimd.LoadFloat32x8((*[8]float32)(bp[0:8]))
		b1 := archsimd.LoadFloat32x8((*[8]float32)(bp[8:16]))
		a0 := archsimd.BroadcastFloat32x8(ap[0])
		c00 = a0.MulAdd(b0, c00)
		c01 = a0.MulAdd(b1, c01)
		a1 := archsimd.BroadcastFloat32x8(ap[1])
		c10 = a1.MulAdd(b0, c10)
		c11 = a1.MulAdd(b1, c11)
		a2 := archsimd.BroadcastFloat32x8(ap[2])
		c20 = a2.MulAdd(b0, c20)
		c21 = a2.MulAdd(b1, c21)
		a3 := archsimd.BroadcastFloat32x8(ap[3])
		c30 = a3.MulAdd(b0, c30)
		c31 = a3.MulAdd(b1, c31)
	}
	storeSIMD(c[0*ldc:], c00, c01, first)
	storeSIMD(c[1*ldc:], c10, c11, first)
	storeSIMD(c[2*ldc:], c20, c21, first)
	storeSIMD(c[3*ldc:], c30, c31, first)
}

func storeSIMD(row []float32, v0, v1 archsimd.Float32x8, first bool) {
	p0, p1 := (*[8]float32)(row[0:8]), (*[8]float32)(row[8:16])
	if !first {
		v0 = v0.Add(archsimd.LoadFloat32x8(p0))
		v1 = v1.Add(archsimd.LoadFloat32x8(p1))
	}
	v0.Store(p0)
	v1.Store(p1)
}
