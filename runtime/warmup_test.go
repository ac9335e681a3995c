package runtime

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

// Warmup dims are checked before the sample's data is made: dims whose
// product overflows, or whose sample would take more than maxWarmupBytes,
// are refused with the input named, never allocated (one such config
// crashed the server with "makeslice: len out of range").
func TestWarmupDimsBoundedBeforeAllocation(t *testing.T) {
	sig := &Signature{Inputs: []backends.TensorSpec{
		{Name: "x", DataType: backends.FP32, Shape: []int64{-1, -1}},
		{Name: "s", DataType: backends.Bytes, Shape: []int64{-1}},
	}}
	sample := func(x, s []int64) config.Warmup {
		return config.Warmup{Name: "w", Inputs: map[string]config.WarmupInput{
			"x": {DataType: "FP32", Dims: x, Data: config.WarmupRandom},
			"s": {DataType: "BYTES", Dims: s, Data: config.WarmupRandom}}}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		x, s []int64
		want string
	}{
		{[]int64{4294967296, 4294967296}, []int64{1}, `input "x": dims [4294967296 4294967296] make a sample over the 256 MiB`},
		{[]int64{1 << 15, 1 << 15}, []int64{1}, `input "x": dims [32768 32768] make a sample over`},
		{[]int64{2, 3}, []int64{1125899906842624}, `input "s": dims [1125899906842624] make a sample over`},
		{[]int64{2, -3}, []int64{1}, `input "x" has shape [2 -3]`},
	} {
		if _, err := warmupInputs("m", sig, sample(c.x, c.s), t.TempDir(), rng); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("dims %v, %v: %v; want an error naming %q", c.x, c.s, err, c.want)
		}
	}
	in, err := warmupInputs("m", sig, sample([]int64{2, 3}, []int64{4}), t.TempDir(), rng)
	if err != nil || len(in[0].Data) != 24 || len(in[1].Strings) != 4 {
		t.Fatalf("a small sample: %v, %+v", err, in)
	}
}
