package http

import (
	"bytes"
	"encoding/json"
	"fmt"
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
	if err := s.enter('{'); err != nil {
		return err
	}
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		return s.leave()
	}
	for {
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
		if err := member(key); err != nil {
			return err
		}
		if done, err := s.next('}'); done || err != nil {
			return err
		}
	}
}

// array walks an array, calling elem with the scanner at each element;
// elem must consume it.
func (s *scanner) array(elem func() error) error {
	if err := s.enter('['); err != nil {
		return err
	}
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		return s.leave()
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		if done, err := s.next(']'); done || err != nil {
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

// field decodes the value at the scanner into v with encoding/json.
func (s *scanner) field(name string, v any) error {
	raw, err := s.value()
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("field %q: %v", name, err)
	}
	return nil
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
	s := &scanner{b: b}
	rj := &requestJSON{}
	err := s.object(func(key []byte) error {
		switch {
		case keyIs(key, "id"):
			return s.field("id", &rj.ID)
		case keyIs(key, "parameters"):
			return s.field("parameters", &rj.Parameters)
		case keyIs(key, "outputs"):
			return s.field("outputs", &rj.Outputs)
		case keyIs(key, "inputs"):
			rj.Inputs = rj.Inputs[:0]
			if s.isNull() {
				return nil
			}
			return s.array(func() error {
				var in inputJSON
				if err := s.input(&in); err != nil {
					return err
				}
				rj.Inputs = append(rj.Inputs, in)
				return nil
			})
		}
		_, err := s.value()
		return err
	})
	if err != nil {
		return nil, err
	}
	s.ws()
	if s.i != len(b) {
		return nil, s.errorf("invalid character %q after the top-level value", b[s.i])
	}
	return rj, nil
}

// input reads one element of "inputs"; its data stays raw.
func (s *scanner) input(in *inputJSON) error {
	return s.object(func(key []byte) error {
		switch {
		case keyIs(key, "name"):
			return s.field("name", &in.Name)
		case keyIs(key, "shape"):
			return s.field("shape", &in.Shape)
		case keyIs(key, "datatype"):
			return s.field("datatype", &in.Datatype)
		case keyIs(key, "parameters"):
			return s.field("parameters", &in.Parameters)
		case keyIs(key, "data"):
			raw, err := s.value()
			in.Data = raw
			return err
		}
		_, err := s.value()
		return err
	})
}
