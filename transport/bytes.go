package transport

import (
	"encoding/binary"
	"fmt"
)

// SplitBytesElements reads n BYTES elements in the Open Inference
// Protocol's raw layout, which HTTP binary data and gRPC raw contents share:
// each element is a 4-byte little-endian length followed by that many
// bytes. The elements alias raw.
func SplitBytesElements(raw []byte, n int64) ([][]byte, error) {
	if n > int64(len(raw))/4 {
		return nil, fmt.Errorf("shape holds %d BYTES elements but %d bytes can hold at most %d", n, len(raw), len(raw)/4)
	}
	out := make([][]byte, 0, n)
	for len(raw) > 0 {
		if int64(len(out)) == n { // refused before reading the rest
			return nil, fmt.Errorf("shape holds %d BYTES elements but data has more", n)
		}
		if len(raw) < 4 {
			return nil, fmt.Errorf("BYTES element %d: truncated length prefix", len(out))
		}
		l := binary.LittleEndian.Uint32(raw)
		if uint64(l) > uint64(len(raw)-4) {
			return nil, fmt.Errorf("BYTES element %d: length %d runs past the data", len(out), l)
		}
		out = append(out, raw[4:4+l:4+l])
		raw = raw[4+l:]
	}
	if int64(len(out)) != n {
		return nil, fmt.Errorf("shape holds %d BYTES elements but data has %d", n, len(out))
	}
	return out, nil
}

// AppendBytesElements writes BYTES elements in the raw layout
// SplitBytesElements reads.
func AppendBytesElements(dst []byte, elems [][]byte) []byte {
	for _, s := range elems {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
		dst = append(dst, s...)
	}
	return dst
}
