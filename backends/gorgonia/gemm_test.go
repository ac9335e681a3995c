package gorgonia

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveGemm is the reference product, accumulated in float64.
func naiveGemm(m, n, k int, a, b matView, c []float32, ldc int, acc bool) {
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				s += float64(a.at(i, p)) * float64(b.at(p, j))
			}
			if acc {
				s += float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(s)
		}
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// TestSgemm compares the blocked product with the naive one on shapes that
// exercise every edge: partial micro-tiles, several K slices and M blocks,
// transposed operands, a row stride wider than n, and accumulation.
func TestSgemm(t *testing.T) {
	t.Logf("micro-kernel: %s", gemmKernelName())
	r := rand.New(rand.NewPCG(1, 2))
	shapes := [][3]int{{1, 1, 1}, {6, 16, 1}, {7, 17, 3}, {5, 3, 300}, {64, 1000, 784}, {130, 33, 520}, {13, 3100, 9}, {0, 4, 4}, {4, 4, 0}}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, acc := range []bool{false, true} {
				t.Run(fmt.Sprintf("%dx%dx%d/t%v/acc%v", m, n, k, tr, acc), func(t *testing.T) {
					a := matView{data: randSlice(r, m*k), ld: k, t: tr[0]}
					if tr[0] {
						a.ld = m
					}
					b := matView{data: randSlice(r, k*n), ld: n, t: tr[1]}
					if tr[1] {
						b.ld = k
					}
					ldc := n + 3
					got := randSlice(r, m*ldc)
					want := append([]float32(nil), got...)
					packed := append([]float32(nil), got...)
					sgemm(m, n, k, a, b, got, ldc, acc)
					naiveGemm(m, n, k, a, b, want, ldc, acc)
					if k > 0 {
						// B packed ahead, as for constant weights, gives the same bits.
						sgemmPacked(m, n, k, a, matView{}, prepackB(b, k, n), packed, ldc, acc)
						if !slices.Equal(packed, got) {
							t.Fatal("prepacked B gives a different product")
						}
					}
					for i := range m {
						for j := range ldc {
							g, w := got[i*ldc+j], want[i*ldc+j]
							if math.Abs(float64(g-w)) > 1e-4*(1+math.Abs(float64(w)))*math.Sqrt(float64(k+1)) {
								t.Fatalf("C[%d,%d] = %v, want %v", i, j, g, w)
							}
						}
					}
				})
			}
		}
	}
}

// BenchmarkSgemm reports the blocked product's speed in GFLOP/s on the
// shapes the benchmarks' models multiply: mlp-large's layers at batch 64,
// and ResNet-50's convolutions as im2col products at batch 1.
func BenchmarkSgemm(b *testing.B) {
	b.Logf("micro-kernel: %s", gemmKernelName())
	for _, s := range [][3]int{{64, 1024, 1024}, {64, 4096, 1024}, {64, 3136, 576}, {256, 784, 1152}, {512, 49, 4608}, {512, 512, 512}} {
		m, n, k := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			a := matView{data: randSlice(r, m*k), ld: k}
			bm := matView{data: randSlice(r, k*n), ld: n}
			c := make([]float32, m*n)
			b.ReportAllocs()
			for b.Loop() {
				sgemm(m, n, k, a, bm, c, n, false)
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
