package bench

import (
	"encoding/binary"
	"math"
	"math/rand"

	"github.com/tiffin-ml/tiffin/backends"
)

// SyntheticInputs makes deterministic inputs of batch rows for a
// signature: a dynamic axis other than the batch axis takes 1. Floats are
// small values from a fixed seed; other types are zeros.
func SyntheticInputs(specs []backends.TensorSpec, batch int, seed int64) []backends.Tensor {
	rng := rand.New(rand.NewSource(seed))
	out := make([]backends.Tensor, len(specs))
	for i, s := range specs {
		shape := make([]int64, len(s.Shape))
		for a, d := range s.Shape {
			switch {
			case a == 0 && d == -1:
				shape[a] = int64(batch)
			case d < 0:
				shape[a] = 1
			default:
				shape[a] = d
			}
		}
		t := backends.Tensor{Name: s.Name, DataType: s.DataType, Shape: shape}
		n := backends.NumElements(shape)
		switch s.DataType {
		case backends.Bytes:
			for range n {
				t.Strings = append(t.Strings, []byte("x"))
			}
		case backends.FP32:
			for range n {
				t.Data = binary.LittleEndian.AppendUint32(t.Data, math.Float32bits(float32(rng.NormFloat64())))
			}
		case backends.FP64:
			for range n {
				t.Data = binary.LittleEndian.AppendUint64(t.Data, math.Float64bits(rng.NormFloat64()))
			}
		default:
			t.Data = make([]byte, n*int64(s.DataType.Size()))
		}
		out[i] = t
	}
	return out
}
