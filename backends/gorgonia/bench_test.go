//go:build cgo

package gorgonia

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/onnx"
	"github.com/tiffin-ml/tiffin/backends/onnx/onnxtest"
	"github.com/tiffin-ml/tiffin/backends/onnxtestdata"
)

// ortBackend returns an ONNX Runtime backend, closed at cleanup, or skips
// when the library is missing (see onnxtest).
func ortBackend(tb testing.TB) *onnx.Backend {
	tb.Helper()
	lib := onnxtest.LibraryPath(tb)
	b := onnx.New(onnx.Options{LibraryPath: lib, Logger: quiet})
	if err := b.Available(); err != nil {
		tb.Fatalf("onnxruntime at %s: %v", lib, err)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Errorf("closing onnxruntime: %v", err)
		}
	})
	return b
}

// loadWith loads the model file at path with be, using as many threads as
// GOMAXPROCS (what gorgonia's BLAS uses), closed at cleanup.
func loadWith(tb testing.TB, be backends.Backend, name, path string) backends.Model {
	tb.Helper()
	m, err := be.Load(context.Background(), backends.LoadSpec{
		Model: name, Version: 1, Path: path, Threads: runtime.GOMAXPROCS(0), Logger: quiet,
	})
	if err != nil {
		tb.Fatalf("%s: Load %s: %v", be.Name(), name, err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

// TestParityWithONNXRuntime runs every demo model under both backends on the
// same inputs and compares the outputs within 1e-4.
func TestParityWithONNXRuntime(t *testing.T) {
	ort := ortBackend(t)
	for _, d := range demoModels() {
		t.Run(d.name, func(t *testing.T) {
			path := writeModel(t, d.name, d.bytes(t))
			g, o := loadWith(t, New(Options{Logger: quiet}), d.name, path), loadWith(t, ort, d.name, path)
			for _, batch := range []int{1, 5, 64} {
				in := []backends.Tensor{d.input(batch, int64(batch))}
				got, want := run(t, g, in...), run(t, o, in...)
				if fmt.Sprint(got[0].Shape) != fmt.Sprint(want[0].Shape) {
					t.Fatalf("batch %d: gorgonia shape %v, onnxruntime %v", batch, got[0].Shape, want[0].Shape)
				}
				checkClose(t, fmt.Sprintf("batch %d", batch), bytesF32(got[0].Data), bytesF32(want[0].Data), 1e-4)
			}
		})
	}
}

// TestLightCNNsMatchONNXRuntime runs the onnx wheel's nine model-zoo CNNs
// under both backends on the same inputs and holds gorgonia's outputs within
// 1e-3 (relative) of ONNX Runtime's. Under the race detector only
// SqueezeNet runs (the others take minutes there); it skips without the
// data or the library.
func TestLightCNNsMatchONNXRuntime(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping in -short: the zoo CNNs take a while")
	}
	cases := lightCNNs(t)
	ort := ortBackend(t)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if raceEnabled && c.Name != "light_squeezenet" {
				t.Skip("race detector on: run without -race to check it")
			}
			in, _, err := c.Load()
			if err != nil {
				t.Fatal(err)
			}
			g, o := loadWith(t, New(Options{Logger: quiet}), c.Name, c.Model), loadWith(t, ort, c.Name, c.Model)
			got, want := run(t, g, in...), run(t, o, in...)
			for i := range want {
				if err := onnxtestdata.Close(got[i], want[i], 1e-3, 1e-6); err != nil {
					t.Errorf("gorgonia against onnxruntime: %v", err)
				}
			}
		})
	}
}

// BenchmarkBackends measures one Run per demo model, backend and batch size,
// reporting rows (batch items) per second. Both backends get GOMAXPROCS
// threads; the onnxruntime side skips without the library.
func BenchmarkBackends(b *testing.B) {
	for _, d := range demoModels() {
		path := writeModel(b, d.name, d.bytes(b))
		b.Run("model="+d.name, func(b *testing.B) {
			for _, side := range benchSides {
				b.Run("backend="+side.name, func(b *testing.B) {
					m := loadWith(b, side.backend(b), d.name, path)
					for _, n := range []int{1, 8, 64} {
						b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) { benchRun(b, m, d, n) })
					}
				})
			}
		})
	}
}

// benchSides are the backends the benchmarks compare; the onnxruntime side
// skips without the library.
var benchSides = []struct {
	name    string
	backend func(testing.TB) backends.Backend
}{
	{"gorgonia", func(testing.TB) backends.Backend { return New(Options{Logger: quiet}) }},
	{"onnxruntime", func(tb testing.TB) backends.Backend { return ortBackend(tb) }},
}

func benchRun(b *testing.B, m backends.Model, d demoModel, n int) {
	in := []backends.Tensor{d.input(n, 1)}
	ctx := context.Background()
	if _, err := m.Run(ctx, in); err != nil { // warm: builds gorgonia's graph for n
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Run(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
}

// lightCNNs lists the onnx wheel's light model-zoo CNNs, skipping tb
// without the data.
func lightCNNs(tb testing.TB) []onnxtestdata.Case {
	tb.Helper()
	dir, err := onnxtestdata.Dir()
	if err != nil {
		tb.Skipf("skipping: %v", err)
	}
	cases, err := onnxtestdata.List(dir, "light")
	if err != nil {
		tb.Fatal(err)
	}
	return cases
}

// BenchmarkLightCNNs runs the onnx wheel's light model-zoo CNNs (ResNet-50
// and the others) at batch 1 on both backends, reporting images per second;
// it skips without the data (see TestONNXBackendTestData). Compare at one
// thread with -cpu 1 (GOMAXPROCS 1, which loadWith also gives
// onnxruntime), and build with GOEXPERIMENT=simd for gorgonia's AVX2 GEMM.
func BenchmarkLightCNNs(b *testing.B) {
	cases := lightCNNs(b)
	b.Logf("gorgonia GEMM micro-kernel: %s", gemmKernelName())
	for _, c := range cases {
		name, path := strings.TrimPrefix(c.Name, "light_"), c.Model
		b.Run("model="+name, func(b *testing.B) {
			for _, side := range benchSides {
				b.Run("backend="+side.name, func(b *testing.B) {
					m := loadWith(b, side.backend(b), name, path)
					in, _, err := c.Load()
					if err != nil {
						b.Fatal(err)
					}
					ctx := context.Background()
					if _, err := m.Run(ctx, in); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					for b.Loop() {
						if _, err := m.Run(ctx, in); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
				})
			}
		})
	}
}
