package http

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/tiffin-ml/tiffin/backends"
)

// decodeData reads a V2 JSON "data" array, flat or nested, into n elements
// of dt. It checks the count before it allocates: every element takes at
// least one byte of the raw text, so a shape claiming more elements than
// that is refused at once. It is a small state machine over the raw bytes,
// written as one loop on purpose: no interface{} values are built.
func decodeData(raw []byte, dt backends.DataType, n int64) ([]byte, [][]byte, error) {
	if n > int64(len(raw)) {
		return nil, nil, fmt.Errorf("shape holds %d elements but data has at most %d", n, len(raw))
	}
	var data []byte
	var strs [][]byte
	if dt == backends.Bytes {
		strs = make([][]byte, 0, n)
	} else {
		data = make([]byte, 0, n*int64(dt.Size()))
	}
	count, depth := int64(0), 0
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '[':
			depth++
			i++
			continue
		case c == ']':
			depth--
			i++
			continue
		case c == ',' || c == ' ' || c == '\n' || c == '\t' || c == '\r':
			i++
			continue
		}
		if depth <= 0 {
			return nil, nil, fmt.Errorf("data must be a JSON array")
		}
		if count == n {
			return nil, nil, fmt.Errorf("data has more than the %d elements the shape holds", n)
		}
		end, err := tokenEnd(raw, i)
		if err != nil {
			return nil, nil, fmt.Errorf("data element %d: %w", count, err)
		}
		tok := raw[i:end]
		if dt == backends.Bytes {
			s, err := decodeString(tok)
			if err != nil {
				return nil, nil, fmt.Errorf("data element %d: %w", count, err)
			}
			strs = append(strs, s)
		} else if data, err = appendElement(data, dt, tok); err != nil {
			return nil, nil, fmt.Errorf("data element %d: %w", count, err)
		}
		count++
		i = end
	}
	if depth != 0 {
		return nil, nil, fmt.Errorf("data has unbalanced brackets")
	}
	if count != n {
		return nil, nil, fmt.Errorf("shape holds %d elements but data has %d", n, count)
	}
	return data, strs, nil
}

// tokenEnd finds the end of the scalar starting at raw[i]: a JSON string,
// or a bare word up to the next separator.
func tokenEnd(raw []byte, i int) (int, error) {
	if raw[i] == '"' {
		for j := i + 1; j < len(raw); j++ {
			switch raw[j] {
			case '\\':
				j++
			case '"':
				return j + 1, nil
			}
		}
		return 0, fmt.Errorf("unterminated string")
	}
	j := i
	for j < len(raw) && raw[j] != ',' && raw[j] != ']' && raw[j] != ' ' && raw[j] != '\n' && raw[j] != '\t' && raw[j] != '\r' {
		j++
	}
	return j, nil
}

func decodeString(tok []byte) ([]byte, error) {
	if tok[0] != '"' {
		return nil, fmt.Errorf("BYTES elements are JSON strings, got %s", clip(tok))
	}
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return nil, fmt.Errorf("invalid string %s", clip(tok))
	}
	return []byte(s), nil
}

// appendElement parses one number or boolean and appends its little-endian
// bytes.
func appendElement(dst []byte, dt backends.DataType, tok []byte) ([]byte, error) {
	s := string(tok) // the compiler does not copy for these calls
	bad := func() error { return fmt.Errorf("invalid %s value %s", dt, clip(tok)) }
	le := binary.LittleEndian
	switch dt {
	case backends.Bool:
		switch s {
		case "true":
			return append(dst, 1), nil
		case "false":
			return append(dst, 0), nil
		}
		return nil, bad()
	case backends.FP32, backends.FP16, backends.BF16:
		f, err := strconv.ParseFloat(s, 32)
		if err != nil {
			return nil, bad()
		}
		switch dt {
		case backends.FP16:
			return le.AppendUint16(dst, float32ToHalf(float32(f))), nil
		case backends.BF16:
			return le.AppendUint16(dst, float32ToBF16(float32(f))), nil
		}
		return le.AppendUint32(dst, math.Float32bits(float32(f))), nil
	case backends.FP64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, bad()
		}
		return le.AppendUint64(dst, math.Float64bits(f)), nil
	case backends.Int8, backends.Int16, backends.Int32, backends.Int64:
		v, err := strconv.ParseInt(s, 10, dt.Size()*8)
		if err != nil {
			return nil, bad()
		}
		return appendInt(dst, uint64(v), dt.Size()), nil
	case backends.Uint8, backends.Uint16, backends.Uint32, backends.Uint64:
		v, err := strconv.ParseUint(s, 10, dt.Size()*8)
		if err != nil {
			return nil, bad()
		}
		return appendInt(dst, v, dt.Size()), nil
	}
	return nil, fmt.Errorf("unsupported datatype %s", dt)
}

func appendInt(dst []byte, v uint64, size int) []byte {
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

// clip shortens a token for an error message.
func clip(tok []byte) string {
	const n = 32
	if len(tok) > n {
		return strconv.Quote(string(tok[:n])) + "..."
	}
	return strconv.Quote(string(tok))
}

// appendData writes a tensor's elements as a flat JSON array.
func appendData(dst []byte, t *backends.Tensor) []byte {
	dst = append(dst, '[')
	if t.DataType == backends.Bytes {
		for i, s := range t.Strings {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, s)
		}
		return append(dst, ']')
	}
	size := t.DataType.Size()
	for i := 0; i+size <= len(t.Data); i += size {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendValue(dst, t.DataType, t.Data[i:i+size])
	}
	return append(dst, ']')
}

func appendValue(dst []byte, dt backends.DataType, b []byte) []byte {
	le := binary.LittleEndian
	switch dt {
	case backends.Bool:
		return strconv.AppendBool(dst, b[0] != 0)
	case backends.FP32:
		return appendFloat(dst, float64(math.Float32frombits(le.Uint32(b))), 32)
	case backends.FP16:
		return appendFloat(dst, float64(halfToFloat32(le.Uint16(b))), 32)
	case backends.BF16:
		return appendFloat(dst, float64(bf16ToFloat32(le.Uint16(b))), 32)
	case backends.FP64:
		return appendFloat(dst, math.Float64frombits(le.Uint64(b)), 64)
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

// appendFloat writes the shortest text that reads back to the same value;
// NaN and infinities, which JSON cannot carry, become null.
func appendFloat(dst []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// appendJSONString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s []byte) []byte {
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
