package tensorjson

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/tiffin-ml/tiffin/backends"
)

// Parsing numbers is most of the CPU time of JSON tensors. AppendElement reads the
// forms rows almost always use, a plain decimal of at most 19 significant
// digits with a small exponent, itself; anything else (more digits, a
// large exponent, a leading '+', hex, inf, a malformed number) goes to
// strconv, which also words the errors. The fast paths give exactly what
// strconv gives: see number_test.go.

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// scanDecimal reads a plain decimal, -?d+(.d+)?([eE][+-]?d+)?, from the
// start of s: its value is mant × 10^exp, and it is s[:n]. ok is false
// when s does not start with one of at most 19 significant digits.
func scanDecimal(s []byte) (mant uint64, exp int, neg bool, n int, ok bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		neg, i = true, i+1
	}
	digits := 0 // in mant; leading zeros are not
	start := i
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		if mant == 0 && s[i] == '0' {
			continue
		}
		if digits == 19 {
			return 0, 0, false, 0, false
		}
		mant, digits = mant*10+uint64(s[i]-'0'), digits+1
	}
	if i == start {
		return 0, 0, false, 0, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for len(s)-i >= 8 && digits <= 19-8 { // 8 digits at a time while they fit
			v, ok := eightDigits(s[i:])
			if !ok {
				break
			}
			if mant = mant*1e8 + v; mant != 0 {
				digits += 8 // or fewer: an upper bound is enough
			}
			i, exp = i+8, exp-8
		}
		for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
			exp--
			if mant == 0 && s[i] == '0' {
				continue
			}
			if digits == 19 {
				return 0, 0, false, 0, false
			}
			mant, digits = mant*10+uint64(s[i]-'0'), digits+1
		}
		if i == start {
			return 0, 0, false, 0, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg, i = s[i] == '-', i+1
		}
		start = i
		e := 0
		for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
			if e < 1e6 {
				e = e*10 + int(s[i]-'0')
			}
		}
		if i == start {
			return 0, 0, false, 0, false
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	return mant, exp, neg, i, true
}

// eightDigits reads s[:8] when they are all digits (SWAR, as in simdjson).
func eightDigits(s []byte) (uint64, bool) {
	v := binary.LittleEndian.Uint64(s)
	if v&0xf0f0f0f0f0f0f0f0|(v+0x0606060606060606)&0xf0f0f0f0f0f0f0f0>>4 != 0x3333333333333333 {
		return 0, false
	}
	v -= 0x3030303030303030
	v = v*10 + v>>8 // pairs of digits in every other byte
	v = (v&0x000000ff000000ff*(100+1000000<<32) + v>>16&0x000000ff000000ff*(1+10000<<32)) >> 32
	return v, true
}

// exactFloat64 reads all of s as a plain decimal: see Float64Prefix.
func exactFloat64(s []byte) (float64, bool) {
	f, n, ok := Float64Prefix(s)
	return f, ok && n == len(s)
}

// Float64Prefix reads the plain decimal at the start of s, s[:n], as
// strconv would read it alone: when mant × 10^exp rounds once because both
// factors are exact float64s (Clinger's fast path), or else by
// Eisel-Lemire, which may decline.
func Float64Prefix(s []byte) (f float64, n int, ok bool) {
	mant, exp, neg, n, ok := scanDecimal(s)
	if !ok {
		return 0, 0, false
	}
	if mant > 1<<53 || exp < -22 || exp > 22 {
		f, ok = eiselLemire64(mant, exp, neg) // eisel.go: up to 19 digits, any exponent
		return f, n, ok
	}
	f = float64(mant)
	if exp < 0 {
		f /= pow10[-exp]
	} else {
		f *= pow10[exp]
	}
	if neg {
		f = -f
	}
	return f, n, true
}

// exactFloat32 reads all of s as a plain decimal: see Float32Prefix.
func exactFloat32(s []byte) (float32, bool) {
	f, n, ok := Float32Prefix(s)
	return f, ok && n == len(s)
}

// Float32Prefix is Float64Prefix rounded to float32 as strconv
// rounds s[:n] to float32. It rounds twice, to float64 then to float32,
// which is exact unless the float64 lands on a midpoint between two
// float32s; it then declines. It also declines outside the normal float32
// range (whose significands are 29 bits narrower than float64's), where
// the midpoints lie elsewhere or strconv reports the overflow.
func Float32Prefix(s []byte) (float32, int, bool) {
	f, n, ok := Float64Prefix(s)
	if a := math.Abs(f); !ok || math.Float64bits(f)&(1<<29-1) == 1<<28 ||
		a != 0 && (a < 0x1p-126 || a > math.MaxFloat32) {
		return 0, 0, false
	}
	return float32(f), n, true
}

// exactInt reads -?d{1,18}, which an int64 always holds.
func exactInt(s []byte) (int64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	u, ok := exactUint(s, 18)
	if neg {
		return -int64(u), ok
	}
	return int64(u), ok
}

// exactUint reads 1 to max digits, max at most 19.
func exactUint(s []byte, max int) (uint64, bool) {
	if len(s) == 0 || len(s) > max {
		return 0, false
	}
	var u uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	return u, true
}

// AppendJSONElement is AppendElement for a token of a JSON document: a
// number must be a JSON number (RFC 8259: no '+', no leading zeros, no
// bare '.', no hex, underscores, NaN or Infinity), which strconv, behind
// the fast paths, would otherwise read as something: 1_0 as 10, 0x1p3 as
// 8.
func AppendJSONElement(dst []byte, dt backends.DataType, tok []byte) ([]byte, error) {
	return appendElement(dst, dt, tok, true)
}

// AppendElement parses one number or boolean as an element of dt and
// appends its little-endian bytes, leniently: what strconv reads (CSV
// fields, the command line). Booleans are true/false (or 1/0); FP16 and
// BF16 are read as float32 and rounded to nearest even; a finite value
// past FP16's range is refused, not made infinite.
func AppendElement(dst []byte, dt backends.DataType, tok []byte) ([]byte, error) {
	return appendElement(dst, dt, tok, false)
}

// LeadingZero reports whether tok starts with a zero followed by a digit,
// after an optional '-': 01, -007.
func LeadingZero(tok []byte) bool {
	if len(tok) > 0 && tok[0] == '-' {
		tok = tok[1:]
	}
	return len(tok) > 1 && tok[0] == '0' && '0' <= tok[1] && tok[1] <= '9'
}

// jsonNumber reports whether tok is a JSON number:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func jsonNumber(tok []byte) bool {
	i, n := 0, len(tok)
	digits := func() int {
		start := i
		for i < n && '0' <= tok[i] && tok[i] <= '9' {
			i++
		}
		return i - start
	}
	if i < n && tok[i] == '-' {
		i++
	}
	switch {
	case i < n && tok[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < n && tok[i] == '.' {
		if i++; digits() == 0 {
			return false
		}
	}
	if i < n && (tok[i] == 'e' || tok[i] == 'E') {
		if i++; i < n && (tok[i] == '+' || tok[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == n
}

func appendElement(dst []byte, dt backends.DataType, tok []byte, strict bool) ([]byte, error) {
	le := binary.LittleEndian
	// The fast paths take only plain decimals, JSON numbers but for
	// leading zeros (01), refused by a look at a byte or two; what goes on
	// to strconv is checked whole.
	if strict && dt != backends.Bool && LeadingZero(tok) {
		return nil, badElement(dt, tok)
	}
	switch dt {
	case backends.FP16, backends.BF16:
		if strict && !jsonNumber(tok) {
			return nil, badElement(dt, tok)
		}
		f, err := strconv.ParseFloat(string(tok), 32)
		if err != nil {
			return nil, badElement(dt, tok)
		}
		if dt == backends.FP16 {
			h := Float32ToHalf(float32(f))
			if h&0x7fff == 0x7c00 && !math.IsInf(f, 0) { // finite, past 65504
				return nil, fmt.Errorf("invalid FP16 value %s: past FP16's largest, 65504", Clip(tok))
			}
			return le.AppendUint16(dst, h), nil
		}
		return le.AppendUint16(dst, Float32ToBF16(float32(f))), nil
	case backends.FP32:
		if f, ok := exactFloat32(tok); ok {
			return le.AppendUint32(dst, math.Float32bits(f)), nil
		}
		if strict && !jsonNumber(tok) {
			return nil, badElement(dt, tok)
		}
		f, err := strconv.ParseFloat(string(tok), 32)
		if err != nil {
			return nil, badElement(dt, tok)
		}
		return le.AppendUint32(dst, math.Float32bits(float32(f))), nil
	case backends.FP64:
		f, ok := exactFloat64(tok)
		if !ok {
			if strict && !jsonNumber(tok) {
				return nil, badElement(dt, tok)
			}
			var err error
			if f, err = strconv.ParseFloat(string(tok), 64); err != nil {
				return nil, badElement(dt, tok)
			}
		}
		return le.AppendUint64(dst, math.Float64bits(f)), nil
	case backends.Int8, backends.Int16, backends.Int32, backends.Int64:
		bits := dt.Size() * 8
		v, ok := exactInt(tok)
		if !ok || v < -1<<(bits-1) || v > 1<<(bits-1)-1 {
			if strict && !jsonNumber(tok) {
				return nil, badElement(dt, tok)
			}
			var err error
			if v, err = strconv.ParseInt(string(tok), 10, bits); err != nil {
				return nil, badElement(dt, tok)
			}
		}
		return AppendInt(dst, uint64(v), dt.Size()), nil
	case backends.Uint8, backends.Uint16, backends.Uint32, backends.Uint64:
		bits := dt.Size() * 8
		v, ok := exactUint(tok, 19)
		if !ok || bits < 64 && v >= 1<<bits {
			if strict && !jsonNumber(tok) {
				return nil, badElement(dt, tok)
			}
			var err error
			if v, err = strconv.ParseUint(string(tok), 10, bits); err != nil {
				return nil, badElement(dt, tok)
			}
		}
		return AppendInt(dst, v, dt.Size()), nil
	case backends.Bool:
		switch string(tok) {
		case "true", "1":
			return append(dst, 1), nil
		case "false", "0":
			return append(dst, 0), nil
		}
		return nil, badElement(dt, tok)
	}
	return nil, fmt.Errorf("datatype %s has no JSON number form", dt)
}

func badElement(dt backends.DataType, tok []byte) error {
	return fmt.Errorf("invalid %s value %s", dt, Clip(tok))
}

func AppendInt(dst []byte, v uint64, size int) []byte {
	le := binary.LittleEndian
	switch size {
	case 1:
		return append(dst, byte(v))
	case 2:
		return le.AppendUint16(dst, uint16(v))
	case 4:
		return le.AppendUint32(dst, uint32(v))
	}
	return le.AppendUint64(dst, v)
}
