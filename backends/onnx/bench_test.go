//go:build cgo

package onnx

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
)

// BenchmarkRun measures one Run of a one-thread instance, per batch size:
// the backend's overhead (wrapping inputs, ORT's output allocation, copying
// results) around small models with a dynamic batch axis.
func BenchmarkRun(b *testing.B) {
	be := newTestBackend(b)
	for _, c := range []struct {
		file  string
		input func(n int) []backends.Tensor
	}{
		{"example_dynamic_axes.onnx", batchOf},
		{"sklearn_randomforest.onnx", irisBatch},
	} {
		m := load(b, be, testModel(b, c.file))
		for _, n := range []int{1, 8, 64} {
			name := fmt.Sprintf("model=%s/batch=%d", strings.TrimSuffix(c.file, ".onnx"), n)
			b.Run(name, func(b *testing.B) {
				in := c.input(n)
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := m.Run(ctx, in); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/item")
			})
		}
	}
}

// irisBatch is an input for sklearn_randomforest.onnx (FP32[-1,4]).
func irisBatch(n int) []backends.Tensor {
	vs := make([]float32, 4*n)
	for i := range vs {
		vs[i] = []float32{5.9, 3.0, 5.1, 1.8}[i%4] + float32(i%7)*0.1
	}
	return []backends.Tensor{{Name: "X", DataType: backends.FP32, Shape: []int64{int64(n), 4}, Data: f32Bytes(vs...)}}
}
