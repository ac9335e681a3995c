package jobs

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
)

// The JSON scanner reads floats in one pass (tensorjson's fast path); it
// must read what strconv reads token by token.
func TestDecodeValueMatchesStrconv(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	formats := []byte{'g', 'e', 'f'}
	for range 20_000 {
		dt := []backends.DataType{backends.FP32, backends.FP64}[r.IntN(2)]
		raw, want := []byte{'['}, []byte{}
		n := 1 + r.IntN(4)
		for i := range n {
			v := (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(30)-15))
			tok := strconv.FormatFloat(v, formats[r.IntN(3)], r.IntN(12)-1, 64)
			if i > 0 {
				raw = append(raw, ',')
			}
			raw = append(append(raw, " \t"[:r.IntN(3)]...), tok...)
			if dt == backends.FP32 {
				f, _ := strconv.ParseFloat(tok, 32)
				want = binary.LittleEndian.AppendUint32(want, math.Float32bits(float32(f)))
			} else {
				f, _ := strconv.ParseFloat(tok, 64)
				want = binary.LittleEndian.AppendUint64(want, math.Float64bits(f))
			}
		}
		raw = append(raw, ']')
		got, err := decodeValue(raw, rowSpec{name: "x", dt: dt, shape: []int64{-1}})
		if err != nil || !bytes.Equal(got.Data, want) {
			t.Fatalf("%s %s: got %x %v, want %x", dt, raw, got.Data, err, want)
		}
	}
}
