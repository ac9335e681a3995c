package http

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/tensorjson"
)

// decodeData reads a V2 JSON "data" array, flat or nested, into n elements
// of dt. It checks the count before it allocates: every element takes at
// least one byte of the raw text, so a shape claiming more elements than
// that is refused at once. It is a small state machine over the raw bytes,
// written as one loop on purpose: no interface{} values are built.
func decodeData(raw []byte, dt backends.DataType, n int64) ([]byte, [][]byte, error) {
	return decodeDataInto(nil, raw, dt, n, nil)
}

// decodeDataInto is decodeData writing numbers into spare's backing array
// when it has room for them. Nested data must be even (every array at one
// depth as long, elements only at the deepest) and, given the tensor's
// shape, be that shape with neighbouring axes merged (nesting.fits).
func decodeDataInto(spare []byte, raw []byte, dt backends.DataType, n int64, shape []int64) ([]byte, [][]byte, error) {
	// A number takes at least one byte and a separator; a string at least
	// its two quotes and a separator.
	most := int64(len(raw)+1) / 2
	if dt == backends.Bytes {
		most = int64(len(raw)+1) / 3
	}
	if n > most {
		return nil, nil, fmt.Errorf("shape holds %d elements but data has %s", n, countElements(raw, n, most))
	}
	var data []byte
	var strs [][]byte
	if dt == backends.Bytes {
		strs = make([][]byte, 0, n)
	} else if size := n * int64(dt.Size()); int64(cap(spare)) >= size && size > 0 {
		data = spare[:0]
	} else {
		data = make([]byte, 0, size)
	}
	count, depth := int64(0), 0
	var nest nesting
	for i := 0; i < len(raw); {
		c := raw[i]
		switch c {
		case '[':
			if err := nest.open(depth); err != nil {
				return nil, nil, err
			}
			depth++
			i++
			continue
		case ']':
			if err := nest.close(depth); err != nil {
				return nil, nil, err
			}
			depth--
			i++
			continue
		case ',', ' ', '\n', '\t', '\r':
			i++
			continue
		}
		if depth <= 0 {
			return nil, nil, fmt.Errorf("data must be a JSON array")
		}
		if count == n {
			return nil, nil, fmt.Errorf("data has more than the %d elements the shape holds", n)
		}
		if err := nest.element(depth, count); err != nil {
			return nil, nil, err
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
		} else if data, err = tensorjson.AppendJSONElement(data, dt, tok); err != nil {
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
	if shape != nil {
		if err := nest.fits(shape); err != nil {
			return nil, nil, err
		}
	}
	return data, strs, nil
}

// nesting follows the arrays of nested data as they are read: how many
// children the open array at each depth has had, how many every array at
// that depth must have (the first one's count), and the depth the
// elements are at. The scanner has already bounded depth by maxDepth.
type nesting struct {
	leaf     int // the elements' depth; 0 until the first
	children [maxDepth + 1]int64
	want     [maxDepth + 1]int64 // 0: no array closed at that depth yet
}

func (n *nesting) open(depth int) error {
	if depth >= maxDepth {
		return fmt.Errorf("data nests more than %d deep", maxDepth)
	}
	if depth > 0 {
		if n.leaf == depth {
			return fmt.Errorf("data nests unevenly: an array beside elements at depth %d", depth)
		}
		n.children[depth]++
	}
	n.children[depth+1] = 0
	return nil
}

func (n *nesting) element(depth int, index int64) error {
	switch {
	case n.leaf == 0:
		n.leaf = depth
	case depth != n.leaf:
		return fmt.Errorf("data nests unevenly: element %d is %d arrays deep, the first was %d", index, depth, n.leaf)
	}
	n.children[depth]++
	return nil
}

func (n *nesting) close(depth int) error {
	if depth <= 0 {
		return fmt.Errorf("data has unbalanced brackets")
	}
	got := n.children[depth] + 1 // stored off by one: 0 means unset
	switch w := n.want[depth]; {
	case w == 0:
		n.want[depth] = got
	case w != got:
		return fmt.Errorf("data is ragged: an array %d deep holds %d items, an earlier one %d", depth, got-1, w-1)
	}
	return nil
}

// fits checks even nested data against the tensor's shape: each level of
// nesting, outermost first, must hold as many items as a run of the shape's
// axes, in order (a run may be empty for a level of one). So data nested
// as the shape fits, and so does any merging of neighbouring axes: [2, 3]
// data for [2, 3] or [1, 2, 3], [1, 64] (one flat array per item) for
// [1, 1, 8, 8]; but [3, 2] data for [2, 3] does not, though it holds as
// many elements. Flat data (one level) fits any shape its count fits.
func (n *nesting) fits(shape []int64) error {
	if n.leaf <= 1 {
		return nil
	}
	axis := 0
	for level := 1; level <= n.leaf; level++ {
		items, run := n.want[level]-1, int64(1)
		for run < items && axis < len(shape) {
			run *= shape[axis]
			axis++
		}
		if run != items {
			return fmt.Errorf("data nested as %s does not fit shape %v", n.nestedShape(), shape)
		}
	}
	for ; axis < len(shape); axis++ {
		if shape[axis] != 1 {
			return fmt.Errorf("data nested as %s does not fit shape %v", n.nestedShape(), shape)
		}
	}
	return nil
}

// nestedShape is the data's nesting as a shape, for error messages.
func (n *nesting) nestedShape() string {
	dims := make([]int64, 0, n.leaf)
	for k := 1; k <= n.leaf; k++ {
		dims = append(dims, n.want[k]-1)
	}
	return fmt.Sprint(dims)
}

// countElements is how many elements raw holds, for the error message of
// a shape that holds n, counted without decoding them; "at most most" if
// raw does not scan, or holds n or more tokens (then some are not
// elements of the datatype: numbers in BYTES data, say).
func countElements(raw []byte, n, most int64) string {
	count := 0
	for i := 0; i < len(raw); {
		switch raw[i] {
		case '[', ']', ',', ' ', '\n', '\t', '\r':
			i++
			continue
		}
		end, err := tokenEnd(raw, i)
		if err != nil {
			return fmt.Sprintf("at most %d", most)
		}
		count++
		i = end
	}
	if int64(count) >= n {
		return fmt.Sprintf("at most %d", most)
	}
	return fmt.Sprint(count)
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

// decodeString reads a BYTES element. One without escapes, control bytes
// or invalid UTF-8 is its bytes in the body, which the request holds until
// it is answered: a copy of its own cost ~130 bytes an element through
// encoding/json, 0.67 GB for a 52 MB request of 5M eight-byte strings.
func decodeString(tok []byte) ([]byte, error) {
	if tok[0] != '"' {
		return nil, fmt.Errorf("BYTES elements are JSON strings, got %s", tensorjson.Clip(tok))
	}
	if len(tok) >= 2 && tok[len(tok)-1] == '"' && plainJSONString(tok[1:len(tok)-1]) {
		return tok[1 : len(tok)-1 : len(tok)-1], nil
	}
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return nil, fmt.Errorf("invalid string %s", tensorjson.Clip(tok))
	}
	return []byte(s), nil
}

// plainJSONString reports whether s, a JSON string's contents, means
// itself: no escape, no control byte (which JSON refuses), valid UTF-8
// (which encoding/json would replace).
func plainJSONString(s []byte) bool {
	ascii := true
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			return false
		}
		ascii = ascii && c < utf8.RuneSelf
	}
	return ascii || utf8.Valid(s)
}

// appendData writes a tensor's elements as a flat JSON array.
func appendData(dst []byte, t *backends.Tensor) []byte {
	r := renderer{dst: dst}
	r.data(t)
	return r.dst
}
