package http

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tiffin-ml/tiffin/backends"
)

// The request's JSON is read in one pass: a small scanner walks the
// structure, the short fields (names, shapes, parameters) are decoded with
// encoding/json from their own bytes, and each input's "data" is kept as a
// slice of the body for decodeData, which parses its numbers straight into
// tensor bytes. encoding/json over the whole request scanned every number
// once more just to skip it. The scanner checks the structure (brackets,
// commas, colons, strings); the data parser checks the numbers.

// maxDepth bounds nesting, so a body of a million '[' is refused, not
// recursed into.
const maxDepth = 64

type scanner struct {
	b     []byte
	i     int
	depth int
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", s.i, fmt.Sprintf(format, args...))
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value skips one JSON value and returns its bytes.
func (s *scanner) value() ([]byte, error) {
	s.ws()
	if s.i >= len(s.b) {
		return nil, s.errorf("unexpected end of JSON")
	}
	start := s.i
	var err error
	switch c := s.b[s.i]; c {
	case '"':
		err = s.str()
	case '{':
		err = s.object(func([]byte) error { _, err := s.value(); return err })
	case '[':
		err = s.array(func() error { _, err := s.value(); return err })
	default:
		for s.i < len(s.b) && !delim(s.b[s.i]) {
			s.i++
		}
		if s.i == start {
			return nil, s.errorf("invalid character %q looking for a value", c)
		}
	}
	if err != nil {
		return nil, err
	}
	return s.b[start:s.i], nil
}

// numbers skips an array of numbers and literals, or of such arrays (a
// V2 "data" array of any datatype but BYTES), in one tight loop that
// checks its brackets and commas; value's closures cost more than parsing
// the numbers later. It reports false, having consumed nothing, when the
// array holds a string or an object, or is not well formed: value then
// scans it, and names the error.
func (s *scanner) numbers() bool {
	const (
		opened = iota // after '[': a value or ']'
		after         // after a value: ',' or ']'
		comma         // after ',': a value
	)
	b, i, depth, state := s.b, s.i, 0, opened
	for i < len(b) {
		switch c := b[i]; c {
		case ' ', '\t', '\n', '\r':
			i++
		case '[':
			if state == after || s.depth+depth >= maxDepth {
				return false
			}
			depth, state = depth+1, opened
			i++
		case ']':
			if state == comma || depth == 0 {
				return false
			}
			depth, state = depth-1, after
			i++
			if depth == 0 {
				s.i = i
				return true
			}
		case ',':
			if state != after {
				return false
			}
			state = comma
			i++
		case '"', '{', '}', ':':
			return false
		default: // a number or a literal, checked by decodeData
			if state == after || depth == 0 {
				return false
			}
			for i < len(b) && !delim(b[i]) {
				i++
			}
			state = after
		}
	}
	return false
}

func delim(c byte) bool {
	switch c {
	case ',', '}', ']', ':', ' ', '\t', '\n', '\r', '"', '{', '[':
		return true
	}
	return false
}

// str skips a string, escapes included.
func (s *scanner) str() error {
	s.i++ // the opening quote
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return nil
		case c == '\\':
			s.i += 2
		case c < 0x20:
			return s.errorf("control character in string")
		default:
			s.i++
		}
	}
	return s.errorf("unterminated string")
}

// object walks an object, calling member with each key (as written, quotes
// included) with the scanner at its value; member must consume the value.
func (s *scanner) object(member func(key []byte) error) error {
	return s.container('{', '}', func() error {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.errorf("object key must be a string")
		}
		start := s.i
		if err := s.str(); err != nil {
			return err
		}
		key := s.b[start:s.i]
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.errorf("missing ':' after object key")
		}
		s.i++
		return member(key)
	})
}

// array walks an array, calling elem with the scanner at each element;
// elem must consume it.
func (s *scanner) array(elem func() error) error { return s.container('[', ']', elem) }

// container walks an object or array from its open to its end byte,
// calling entry for each member or element, separated by commas.
func (s *scanner) container(open, end byte, entry func() error) error {
	if err := s.enter(open); err != nil {
		return err
	}
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == end {
		return s.leave()
	}
	for {
		if err := entry(); err != nil {
			return err
		}
		if done, err := s.next(end); done || err != nil {
			return err
		}
	}
}

func (s *scanner) enter(open byte) error {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != open {
		return s.errorf("expected '%c'", open)
	}
	if s.depth++; s.depth > maxDepth {
		return s.errorf("nested more than %d deep", maxDepth)
	}
	s.i++
	return nil
}

func (s *scanner) leave() error {
	s.i++
	s.depth--
	return nil
}

// next consumes a ',' (more to come) or the closing byte (done).
func (s *scanner) next(closing byte) (bool, error) {
	s.ws()
	switch {
	case s.i >= len(s.b):
		return false, s.errorf("unexpected end of JSON")
	case s.b[s.i] == ',':
		s.i++
		return false, nil
	case s.b[s.i] == closing:
		return true, s.leave()
	}
	return false, s.errorf("expected ',' or '%c'", closing)
}

// isNull reports whether the next value is null, and consumes it if so.
func (s *scanner) isNull() bool {
	s.ws()
	if bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += 4
		return true
	}
	return false
}

func unmarshalField(name string, raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("field %q: %v", name, err)
	}
	return nil
}

// stringField decodes a string field. A plain string (printable ASCII, no
// escapes), which is what clients send, is taken as it is; one of known is
// taken without a copy. Anything else (escapes, null, a wrong type) goes
// through encoding/json, for its decoding and its errors.
func (s *scanner) stringField(name string, v *string, known func([]byte) (string, bool)) error {
	raw, err := s.value()
	if err != nil {
		return err
	}
	in, ok := plainString(raw)
	if !ok {
		return unmarshalField(name, raw, v)
	}
	if known != nil {
		if k, ok := known(in); ok {
			*v = k
			return nil
		}
	}
	*v = string(in)
	return nil
}

// intsField decodes an array of integers into *v; a plain one (decimal
// integers of up to 18 digits) without encoding/json, appended to dst,
// anything else through it.
func (s *scanner) intsField(name string, v *[]int64, dst []int64) error {
	raw, err := s.value()
	if err != nil {
		return err
	}
	if out, ok := plainInts(raw, dst); ok {
		*v = out
		return nil
	}
	return unmarshalField(name, raw, v)
}

// plainString returns the inside of a JSON string of printable ASCII with
// no escapes.
func plainString(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	in := raw[1 : len(raw)-1]
	for _, c := range in {
		if c < 0x20 || c > 0x7e || c == '\\' || c == '"' {
			return nil, false
		}
	}
	return in, true
}

// plainInts parses a JSON array of decimal integers (no leading zeros, no
// fraction or exponent, at most 18 digits) appended to dst.
func plainInts(raw []byte, dst []int64) ([]int64, bool) {
	i := 0
	ws := func() {
		for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
			i++
		}
	}
	if len(raw) < 2 || raw[0] != '[' {
		return nil, false
	}
	i = 1
	ws()
	if i < len(raw) && raw[i] == ']' {
		if dst == nil {
			dst = []int64{} // [] is an empty shape (a scalar), not a missing one
		}
		return dst, i == len(raw)-1
	}
	for {
		neg := i < len(raw) && raw[i] == '-'
		if neg {
			i++
		}
		start := i
		var n int64
		for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
			n = n*10 + int64(raw[i]-'0')
			i++
		}
		digits := i - start
		if digits == 0 || digits > 18 || (digits > 1 && raw[start] == '0') {
			return nil, false
		}
		if neg {
			n = -n
		}
		dst = append(dst, n)
		ws()
		if i >= len(raw) {
			return nil, false
		}
		switch raw[i] {
		case ',':
			i++
			ws()
		case ']':
			return dst, i == len(raw)-1
		default:
			return nil, false
		}
	}
}

// dataTypeName returns the constant V2 name equal to b, so a request's
// datatype costs no allocation.
func dataTypeName(b []byte) (string, bool) {
	for d := backends.Bool; d <= backends.Bytes; d++ {
		if string(b) == d.String() {
			return d.String(), true
		}
	}
	return "", false
}

// keyIs matches a quoted key against a field name as encoding/json does:
// exactly, else ignoring case; keys with escapes are unquoted first.
func keyIs(key []byte, name string) bool {
	k := key[1 : len(key)-1]
	if bytes.IndexByte(k, '\\') >= 0 {
		var u string
		if json.Unmarshal(key, &u) != nil {
			return false
		}
		k = []byte(u)
	}
	return string(k) == name || bytes.EqualFold(k, []byte(name))
}

// parseRequestJSON reads the V2 request's JSON in one pass.
func parseRequestJSON(b []byte) (*requestJSON, error) {
	rj := &requestJSON{}
	if err := parseRequestInto(b, rj); err != nil {
		return nil, err
	}
	return rj, nil
}

// parseRequestInto reads the V2 request's JSON into rj, reusing the
// memory rj kept from an earlier request.
func parseRequestInto(b []byte, rj *requestJSON) error {
	s := &scanner{b: b}
	*rj = requestJSON{Parameters: rj.Parameters[:0], Inputs: rj.Inputs[:0], Outputs: rj.Outputs[:0]}
	err := s.object(func(key []byte) error {
		switch {
		case keyIs(key, "id"):
			return s.stringField("id", &rj.ID, nil)
		case keyIs(key, "parameters"):
			return s.params("parameters", &rj.Parameters)
		case keyIs(key, "outputs"):
			return s.outputs(&rj.Outputs)
		case keyIs(key, "inputs"):
			rj.Inputs = rj.Inputs[:0]
			if s.isNull() {
				return nil
			}
			return s.array(func() error {
				if len(rj.Inputs) == maxTensors {
					return s.errorf("the request has more than %d inputs", maxTensors)
				}
				in := grow(&rj.Inputs)
				*in = inputJSON{Parameters: in.Parameters[:0], spare: in.spare}
				return s.input(in)
			})
		}
		_, err := s.value()
		return err
	})
	if err != nil {
		return err
	}
	s.ws()
	if s.i != len(b) {
		return s.errorf("invalid character %q after the top-level value", b[s.i])
	}
	return nil
}

// input reads one element of "inputs"; its data stays raw.
func (s *scanner) input(in *inputJSON) error {
	return s.object(func(key []byte) error {
		switch {
		case keyIs(key, "name"):
			prev := in.spare.name // the name this input had last time: no copy when it is the same
			err := s.stringField("name", &in.Name, func(b []byte) (string, bool) { return prev, string(b) == prev })
			in.spare.name = in.Name
			return err
		case keyIs(key, "shape"):
			err := s.intsField("shape", &in.Shape, in.spare.shape[:0])
			if in.Shape != nil {
				in.spare.shape = in.Shape
			}
			return err
		case keyIs(key, "datatype"):
			return s.stringField("datatype", &in.Datatype, dataTypeName)
		case keyIs(key, "parameters"):
			return s.params("parameters", &in.Parameters)
		case keyIs(key, "data"):
			s.ws()
			if start := s.i; s.numbers() {
				in.Data = s.b[start:s.i]
				return nil
			}
			raw, err := s.value()
			in.Data = raw
			return err
		}
		_, err := s.value()
		return err
	})
}
