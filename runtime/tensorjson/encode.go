package tensorjson

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/tiffin-ml/tiffin/backends"
)

// AppendValue writes one element, its little-endian bytes b, as JSON.
func AppendValue(dst []byte, dt backends.DataType, b []byte) []byte {
	le := binary.LittleEndian
	switch dt {
	case backends.Bool:
		return strconv.AppendBool(dst, b[0] != 0)
	case backends.FP32:
		return AppendFloat(dst, float64(math.Float32frombits(le.Uint32(b))), 32)
	case backends.FP16:
		return AppendFloat(dst, float64(HalfToFloat32(le.Uint16(b))), 32)
	case backends.BF16:
		return AppendFloat(dst, float64(BF16ToFloat32(le.Uint16(b))), 32)
	case backends.FP64:
		return AppendFloat(dst, math.Float64frombits(le.Uint64(b)), 64)
	case backends.Int8:
		return strconv.AppendInt(dst, int64(int8(b[0])), 10)
	case backends.Int16:
		return strconv.AppendInt(dst, int64(int16(le.Uint16(b))), 10)
	case backends.Int32:
		return strconv.AppendInt(dst, int64(int32(le.Uint32(b))), 10)
	case backends.Int64:
		return strconv.AppendInt(dst, int64(le.Uint64(b)), 10)
	case backends.Uint8:
		return strconv.AppendUint(dst, uint64(b[0]), 10)
	case backends.Uint16:
		return strconv.AppendUint(dst, uint64(le.Uint16(b)), 10)
	case backends.Uint32:
		return strconv.AppendUint(dst, uint64(le.Uint32(b)), 10)
	}
	return strconv.AppendUint(dst, le.Uint64(b), 10)
}

// AppendFloat writes the shortest text that reads back to the same value;
// NaN and infinities, which JSON cannot carry, become null.
func AppendFloat(dst []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if bits == 32 {
		f32 := float32(f)
		if math.IsInf(float64(f32), 0) {
			return append(dst, "null"...) // beyond float32's range
		}
		return appendFloat32(dst, f32) // strconv's text, faster (ftoa32.go)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// AppendFloat32 writes f as AppendFloat(dst, float64(f), 32) does, without
// the conversion: for loops over an FP32 tensor's elements.
func AppendFloat32(dst []byte, f float32) []byte {
	if u := math.Float32bits(f); u&0x7f800000 == 0x7f800000 { // NaN or ±Inf
		return append(dst, "null"...)
	}
	return appendFloat32(dst, f)
}

// AppendString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func AppendString(dst []byte, s []byte) []byte {
	if utf8.Valid(s) && !needsEscape(s) {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	b, _ := json.Marshal(string(s))
	return append(dst, b...)
}

func needsEscape(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return true
		}
	}
	return false
}

// Clip quotes a token for an error message, shortened past 32 bytes.
func Clip(tok []byte) string {
	const n = 32
	if len(tok) > n {
		return strconv.Quote(string(tok[:n])) + "..."
	}
	return strconv.Quote(string(tok))
}
