package jobs

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/tensorjson"
)

// valueParser reads a JSON scalar or nested arrays of scalars straight into
// tensor bytes, learning the shape as it goes: every array at one depth
// must have the same length, and every scalar sit at the same depth.
type valueParser struct {
	raw   []byte
	pos   int
	dt    backends.DataType
	data  []byte
	strs  [][]byte
	dims  []int64 // array length by depth; -1 until the first array there closes
	leaf  int     // the depth of scalars; -1 until the first one
	count int64
}

// read reads the value at the parser's position, appending its elements
// to data (strs for BYTES), which p.data and p.strs then are; the shape
// read is p.shape().
func (p *valueParser) read(dt backends.DataType, data []byte, strs [][]byte) error {
	p.dt, p.data, p.strs, p.dims, p.leaf, p.count = dt, data, strs, p.dims[:0], -1, 0
	return p.value(0)
}

func (p *valueParser) shape() []int64 { return p.dims[:p.leaf] }

// tensor reads the value at the parser's position as a row of s.
func (p *valueParser) tensor(s rowSpec) (backends.Tensor, error) {
	if err := p.read(s.dt, nil, nil); err != nil {
		return backends.Tensor{}, err
	}
	shape, err := fitShape(p.shape(), p.count, s.shape)
	if err != nil {
		return backends.Tensor{}, err
	}
	return backends.Tensor{Name: s.name, DataType: s.dt, Shape: shape, Data: p.data, Strings: p.strs}, nil
}

// object reads a JSON object, calling fn with each key (unquoted) and the
// parser positioned on its value, which fn must consume.
func (p *valueParser) object(fn func(key []byte) error) error {
	if p.skipSpace(); !p.eat('{') {
		return errors.New("not a JSON object of inputs")
	}
	for n := 0; ; n++ {
		if p.skipSpace(); p.eat('}') {
			break
		}
		if n > 0 && !p.eat(',') {
			return errors.New("malformed JSON object: want ',' or '}'")
		}
		key, err := p.key()
		if err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
	}
	if p.skipSpace(); p.pos != len(p.raw) {
		return fmt.Errorf("unexpected %s after the JSON object", tensorjson.Clip(p.raw[p.pos:]))
	}
	return nil
}

// key reads an object key and its colon.
func (p *valueParser) key() ([]byte, error) {
	p.skipSpace()
	end := p.stringEnd()
	if end < 0 {
		return nil, errors.New("malformed JSON object: want a quoted input name")
	}
	tok := p.raw[p.pos:end]
	p.pos = end
	if p.skipSpace(); !p.eat(':') {
		return nil, errors.New("malformed JSON object: want ':' after a name")
	}
	if bytes.IndexByte(tok, '\\') < 0 {
		return tok[1 : len(tok)-1], nil
	}
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return nil, fmt.Errorf("malformed input name %s", tensorjson.Clip(tok))
	}
	return []byte(s), nil
}

// stringEnd returns the end of the JSON string at the position, or -1.
func (p *valueParser) stringEnd() int {
	if p.pos >= len(p.raw) || p.raw[p.pos] != '"' {
		return -1
	}
	for i := p.pos + 1; i < len(p.raw); i++ {
		switch p.raw[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skip passes over a value that feeds no input (a row's id, or other
// fields a file carries beside the features), checking that it is JSON.
// It scans for the value's end, minding strings and nesting no deeper
// than maxDepth, then validates that span.
func (p *valueParser) skip() error {
	p.skipSpace()
	start, depth := p.pos, 0
scan:
	for p.pos < len(p.raw) {
		switch c := p.raw[p.pos]; {
		case c == '"':
			end := p.stringEnd()
			if end < 0 {
				return errors.New("unterminated string")
			}
			p.pos = end
			if depth == 0 {
				break scan
			}
			continue
		case c == '[' || c == '{':
			if depth++; depth > maxDepth {
				return fmt.Errorf("nested more than %d deep", maxDepth)
			}
		case c == ']' || c == '}':
			if depth == 0 {
				break scan // the end of the row's object: the value was a literal
			}
			if depth--; depth == 0 {
				p.pos++
				break scan
			}
		case depth == 0 && isDelim(c):
			break scan
		}
		p.pos++
	}
	if v := p.raw[start:p.pos]; !json.Valid(v) {
		return fmt.Errorf("malformed JSON value %s", tensorjson.Clip(v))
	}
	return nil
}

func (p *valueParser) eat(c byte) bool {
	if p.pos < len(p.raw) && p.raw[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

// maxDepth bounds how deep a row's arrays nest, as the HTTP front end
// bounds a request's (transport/http/scan.go): one line of a million '['
// would otherwise recurse a million frames deep, and a goroutine's stack
// overflowing ends the whole process, not the row.
const maxDepth = 64

func (p *valueParser) value(depth int) error {
	p.skipSpace()
	if p.pos >= len(p.raw) {
		return errors.New("unexpected end of the value")
	}
	if p.raw[p.pos] != '[' {
		return p.scalar(depth)
	}
	if depth >= maxDepth {
		return fmt.Errorf("arrays nested more than %d deep", maxDepth)
	}
	p.pos++
	for len(p.dims) <= depth {
		p.dims = append(p.dims, -1)
	}
	n := int64(0)
	for {
		p.skipSpace()
		if p.pos < len(p.raw) && p.raw[p.pos] == ']' {
			p.pos++
			break
		}
		if n > 0 {
			if p.pos >= len(p.raw) || p.raw[p.pos] != ',' {
				return errors.New("malformed array: want ',' or ']'")
			}
			p.pos++
		}
		if err := p.value(depth + 1); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return errors.New("empty array")
	}
	if p.dims[depth] >= 0 && p.dims[depth] != n {
		return fmt.Errorf("ragged array: lengths %d and %d at depth %d", p.dims[depth], n, depth)
	}
	p.dims[depth] = n
	return nil
}

func (p *valueParser) scalar(depth int) error {
	if p.leaf >= 0 && p.leaf != depth {
		return errors.New("ragged array: values at different depths")
	}
	p.leaf = depth
	if p.fastFloat() {
		p.count++
		return nil
	}
	end := p.pos
	if p.raw[end] == '"' {
		if end = p.stringEnd(); end < 0 {
			return errors.New("unterminated string")
		}
	} else {
		for end < len(p.raw) && !isDelim(p.raw[end]) {
			end++
		}
	}
	tok := p.raw[p.pos:end]
	p.pos = end
	p.count++
	if p.dt == backends.Bytes {
		var s string
		if err := json.Unmarshal(tok, &s); err != nil {
			return fmt.Errorf("BYTES values are JSON strings, got %s", tensorjson.Clip(tok))
		}
		p.strs = append(p.strs, []byte(s))
		return nil
	}
	data, err := tensorjson.AppendJSONElement(p.data, p.dt, tok)
	if err != nil {
		return err
	}
	p.data = data
	return nil
}

// fastFloat reads an FP32 or FP64 value that is a plain decimal in one
// pass, as appendElement would read it; it reports false, having read
// nothing, for anything else.
func (p *valueParser) fastFloat() bool {
	rest := p.raw[p.pos:]
	if tensorjson.LeadingZero(rest) { // not JSON: the slow path says so
		return false
	}
	le := binary.LittleEndian
	switch p.dt {
	case backends.FP32:
		f, n, ok := tensorjson.Float32Prefix(rest)
		if !ok || n < len(rest) && !isDelim(rest[n]) {
			return false
		}
		p.data, p.pos = le.AppendUint32(p.data, math.Float32bits(f)), p.pos+n
		return true
	case backends.FP64:
		f, n, ok := tensorjson.Float64Prefix(rest)
		if !ok || n < len(rest) && !isDelim(rest[n]) {
			return false
		}
		p.data, p.pos = le.AppendUint64(p.data, math.Float64bits(f)), p.pos+n
		return true
	}
	return false
}

func isDelim(c byte) bool {
	return c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

func (p *valueParser) skipSpace() {
	for p.pos < len(p.raw) && (p.raw[p.pos] == ' ' || p.raw[p.pos] == '\t' || p.raw[p.pos] == '\n' || p.raw[p.pos] == '\r') {
		p.pos++
	}
}
