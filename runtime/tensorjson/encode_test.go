package tensorjson

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
)

func TestHalfConversions(t *testing.T) {
	for _, f := range []float32{0, 1, -2, 0.5, 65504, 6.1035156e-05, 5.9604645e-08, 1.0009766} {
		if got := HalfToFloat32(Float32ToHalf(f)); got != f {
			t.Errorf("fp16 %v -> %v", f, got)
		}
	}
	if Float32ToHalf(1e6) != 0x7c00 || Float32ToHalf(-1e6) != 0xfc00 {
		t.Error("fp16 overflow is not infinity")
	}
	if !math.IsNaN(float64(HalfToFloat32(Float32ToHalf(float32(math.NaN()))))) {
		t.Error("fp16 NaN")
	}
	if Float32ToHalf(1+1.0/4096) != 0x3c00 { // halfway rounds to even
		t.Error("fp16 ties to even")
	}
	for _, f := range []float32{0, 1, -2, 3.140625} {
		if got := BF16ToFloat32(Float32ToBF16(f)); got != f {
			t.Errorf("bf16 %v -> %v", f, got)
		}
	}
}

// TestValueRoundTrip reads each datatype's JSON and writes it back.
func TestValueRoundTrip(t *testing.T) {
	for _, dt := range []backends.DataType{backends.FP32, backends.FP64, backends.FP16, backends.BF16, backends.Int8,
		backends.Int16, backends.Int32, backends.Int64, backends.Uint8, backends.Uint16, backends.Uint32, backends.Uint64, backends.Bool} {
		for _, tok := range []string{"1", "0"} {
			want := tok
			if dt == backends.Bool {
				want = map[string]string{"1": "true", "0": "false"}[tok]
			}
			b, err := AppendElement(nil, dt, []byte(tok))
			if err != nil {
				t.Fatalf("%s %s: %v", dt, tok, err)
			}
			if got := string(AppendValue(nil, dt, b)); got != want {
				t.Errorf("%s: %s -> %s, want %s", dt, tok, got, want)
			}
		}
	}
	nan := binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(math.NaN())))
	if got := string(AppendValue(nil, backends.FP32, nan)); got != "null" {
		t.Errorf("NaN: %s", got)
	}
	if got := string(AppendString(nil, []byte{'a', '"', 0xff})); got != `"a\"\ufffd"` {
		t.Errorf("string: %s", got)
	}
	if _, err := AppendElement(nil, backends.Bytes, []byte("1")); err == nil {
		t.Error("BYTES took a number")
	}
}
