package grpc

import (
	"fmt"

	"github.com/tiffin-ml/tiffin/transport"

	"google.golang.org/protobuf/encoding/protowire"
)

// A ModelInferRequest can decode to far more memory than its bytes: an
// input, output or parameter entry of two bytes on the wire becomes a
// message of a hundred or more, so a 64 MiB message of empty inputs would
// take gigabytes before any check ran. expandedSize estimates what a
// message decodes to, from its bytes alone and without allocating, and a
// request that would grow past maxExpansion times its size (plus
// expansionSlack) is refused before it is decoded. Real requests are far
// below: raw tensors decode to their own size, typed numbers to at most
// eight times theirs (an int64 written in one byte). Many tiny typed BYTES
// elements are refused: one-byte strings take ~46 times their wire size.

const (
	maxExpansion   = transport.MaxExpansion
	expansionSlack = transport.ExpansionSlack
)

// Rough in-memory sizes of what proto allocates per entry, checked against
// proto.Unmarshal by TestExpandedSizeTracksProto.
const (
	messageCost = 128 // an input, output or contents message, with its pointer
	paramCost   = 160 // a parameters map entry: key, node, InferParameter, oneof
	bytesCost   = 24  // a []byte or string header
	elementCost = 96  // a bytes_contents element: its header, twice over as the slice grows, and its own allocation
)

// checkExpansion estimates what a ModelInferRequest decodes to and
// refuses one whose decoded form would be too large for its size, naming
// what makes it so. The estimate is 0 for malformed bytes, which proto
// reports.
func checkExpansion(b []byte) (int, error) {
	n, ok := expandedSize(b)
	if !ok {
		return 0, nil
	}
	if n > maxExpansion*len(b)+expansionSlack {
		return n, fmt.Errorf("request of %d bytes would take about %d bytes once decoded (more than %dx): too many inputs, outputs, parameters or typed elements for its size; send tensors in raw_input_contents",
			len(b), n, maxExpansion)
	}
	return n, nil
}

// expandedSize estimates the memory a ModelInferRequest's bytes decode to.
// It reports false for bytes it cannot walk.
func expandedSize(b []byte) (int, bool) {
	return walk(b, func(num protowire.Number, typ protowire.Type, v []byte) (int, bool) {
		switch {
		case typ != protowire.BytesType:
			return 8, true
		case num == 4:
			return paramCost + len(v), true
		case num == 5:
			n, ok := walk(v, inputCost)
			return messageCost + n, ok
		case num == 6:
			n, ok := walk(v, outputCost)
			return messageCost + n, ok
		}
		return bytesCost + len(v), true // names, id, raw contents
	})
}

func inputCost(num protowire.Number, typ protowire.Type, v []byte) (int, bool) {
	switch {
	case typ != protowire.BytesType:
		return 8, true // an unpacked shape dimension
	case num == 3:
		return 8 * varints(v), true // a packed shape
	case num == 4:
		return paramCost + len(v), true
	case num == 5:
		n, ok := walk(v, contentsCost)
		return messageCost + n, ok
	}
	return bytesCost + len(v), true
}

func outputCost(num protowire.Number, typ protowire.Type, v []byte) (int, bool) {
	if typ == protowire.BytesType && num == 2 {
		return paramCost + len(v), true
	}
	return bytesCost + len(v), true
}

// contentsCost weighs InferTensorContents' fields: packed scalars by their
// count and element size, each bytes element by its header and length.
func contentsCost(num protowire.Number, typ protowire.Type, v []byte) (int, bool) {
	if typ != protowire.BytesType {
		return 8, true // one unpacked element
	}
	switch num {
	case 1: // bool
		return varints(v), true
	case 2, 4: // int32, uint32
		return 4 * varints(v), true
	case 3, 5: // int64, uint64
		return 8 * varints(v), true
	case 6, 7: // fp32, fp64: fixed width, their own size
		return len(v), true
	}
	return elementCost + len(v), true // bytes_contents, unknown fields
}

// walk sums cost over the fields of a message's bytes; false when they
// are malformed.
func walk(b []byte, cost func(protowire.Number, protowire.Type, []byte) (int, bool)) (int, bool) {
	total := 0
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, false
		}
		var v []byte
		var m int
		if typ == protowire.BytesType {
			v, m = protowire.ConsumeBytes(b[n:])
		} else {
			m = protowire.ConsumeFieldValue(num, typ, b[n:])
		}
		if m < 0 {
			return 0, false
		}
		c, ok := cost(num, typ, v)
		if !ok {
			return 0, false
		}
		total += c
		b = b[n+m:]
	}
	return total, true
}

// varints counts the varints in packed bytes: the bytes that end one.
func varints(b []byte) int {
	n := 0
	for _, c := range b {
		if c < 0x80 {
			n++
		}
	}
	return n
}
