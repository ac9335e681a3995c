package modelgen

import (
	"fmt"
	"math"
	"math/rand"

	"github.com/tiffin-ml/tiffin/backends"
)

// uniform draws n weights from uniform(-0.5, 0.5)/sqrt(fanIn), which keeps
// activations of order one through a layer of fanIn inputs.
func uniform(r *rand.Rand, n, fanIn int) []float32 {
	scale := 1 / math.Sqrt(float64(fanIn))
	w := make([]float32, n)
	for i := range w {
		w[i] = float32((r.Float64() - 0.5) * scale)
	}
	return w
}

// gemm computes y = x·w + b for x [batch,in] and w [in,out], row-major, as
// the ONNX Gemm operator does with its default attributes. Each sum is
// accumulated in float64 and rounded to float32 once.
func gemm(x, w, b []float32, batch, in, out int) []float32 {
	y := make([]float32, batch*out)
	for n := 0; n < batch; n++ {
		row := x[n*in : (n+1)*in]
		for j := 0; j < out; j++ {
			sum := float64(b[j])
			for i, v := range row {
				sum += float64(v) * float64(w[i*out+j])
			}
			y[n*out+j] = float32(sum)
		}
	}
	return y
}

// relu clamps x at zero in place and returns it.
func relu(x []float32) []float32 {
	for i, v := range x {
		if v < 0 {
			x[i] = 0
		}
	}
	return x
}

// checkLen panics when a Forward input does not hold batch rows of rowLen
// elements: a caller's bug, like an out-of-range index.
func checkLen[T any](model, name string, x []T, batch, rowLen int) {
	if batch < 0 || len(x) != batch*rowLen {
		panic(fmt.Sprintf("modelgen: %s: input %q holds %d elements, want batch %d × %d",
			model, name, len(x), batch, rowLen))
	}
}

// batched describes a tensor of shape [-1, dims...], the -1 being the batch
// axis.
func batched(name string, d backends.DataType, dims ...int64) backends.TensorSpec {
	return backends.TensorSpec{Name: name, DataType: d, Shape: append([]int64{-1}, dims...)}
}
