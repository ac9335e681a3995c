//go:build !goexperiment.simd || !amd64

package gorgonia

// gemmKernelName names the micro-kernel in use, for benchmarks and logs.
// Build with GOEXPERIMENT=simd on amd64 for the AVX2/FMA kernel.
func gemmKernelName() string { return "portable Go" }

func gemmKernel(kc int, a, b, c []float32, ldc int, first bool) {
	gemmKernelGo(kc, a, b, c, ldc, first)
}
