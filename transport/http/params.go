package http

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// parameters is a V2 "parameters" object, read by the scanner without
// encoding/json: each value stays a slice of the body, checked to be valid
// JSON, and is interpreted only when a key is asked for. Triton's clients
// send one on every binary input and requested output, so a map of boxed
// values cost a binary request about twenty allocations. Keys repeat as
// encoding/json merges them into a map: the last one wins.
type parameters []param

type param struct {
	key string
	raw []byte // the value as written: a string, number, literal, or (not in the spec, kept unread) an object or array
}

// get returns the last value given for key.
func (p parameters) get(key string) ([]byte, bool) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i].key == key {
			return p[i].raw, true
		}
	}
	return nil, false
}

func (p parameters) has(key string) bool {
	_, ok := p.get(key)
	return ok
}

// flag reads a boolean parameter: absent is false; a value other than
// true or false is refused ("yes" or 1 had been taken as false).
func (p parameters) flag(key string) (bool, error) {
	raw, ok := p.get(key)
	switch {
	case !ok || string(raw) == "false":
		return false, nil
	case string(raw) == "true":
		return true, nil
	}
	return false, fmt.Errorf("parameter %q must be true or false, got %s", key, shown(raw))
}

// int reads a whole-number parameter; ok is false when absent.
func (p parameters) int(key string) (int64, bool, error) {
	raw, ok := p.get(key)
	if !ok {
		return 0, false, nil
	}
	// Digits alone are read exactly: through a float64, 2^63-1 rounded up
	// to 2^63 and was refused as more than itself.
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil && n >= 0 && raw[0] != '+' {
		return n, true, nil
	}
	f, err := number(raw)
	if err != nil || f != math.Trunc(f) || f < 0 {
		return 0, true, fmt.Errorf("parameter %q must be a whole number >= 0, got %s", key, shown(raw))
	}
	if f >= math.MaxInt64 { // 2^63: past int64, where a conversion is undefined
		return 0, true, fmt.Errorf("parameter %q is %s, more than the largest allowed, %d", key, shown(raw), int64(math.MaxInt64))
	}
	return int64(f), true, nil
}

// number reads a JSON number.
func number(raw []byte) (float64, error) {
	if !isNumber(raw) {
		return 0, fmt.Errorf("not a number")
	}
	return strconv.ParseFloat(string(raw), 64)
}

// shown is a value for an error message: a string without its quotes, as
// encoding/json's decoded value printed.
func shown(raw []byte) string {
	if s, ok := plainString(raw); ok {
		return string(s)
	}
	return string(raw)
}

// maxTensors and maxParameters bound what one request may list: each
// input, output and parameter costs the decoder tens to hundreds of bytes
// for the few a client sends for it ("{}" is three), so a body of millions
// of empty ones would otherwise take gigabytes before any check ran.
const (
	maxTensors    = 1024 // inputs, and outputs, per request
	maxParameters = 128  // per "parameters" object
)

// params reads a "parameters" object (or null) at the scanner, appending
// to p as encoding/json merges into an existing map. Absent and empty are
// the same to tiffin.
func (s *scanner) params(name string, p *parameters) error {
	if s.isNull() {
		return nil
	}
	if err := s.opens('{', name, "an object"); err != nil {
		return err
	}
	return s.object(func(key []byte) error {
		k, err := keyString(key)
		if err != nil {
			return fmt.Errorf("field %q: %v", name, err)
		}
		raw, err := s.value()
		if err != nil {
			return err
		}
		if err := validValue(raw); err != nil {
			return fmt.Errorf("field %q: parameter %q: %v", name, k, err)
		}
		if len(*p) == maxParameters {
			return fmt.Errorf("field %q: more than %d parameters", name, maxParameters)
		}
		*p = append(*p, param{key: k, raw: raw})
		return nil
	})
}

// keyString is an object key (quotes included) as a string.
func keyString(key []byte) (string, error) {
	if in, ok := plainString(key); ok {
		return knownKey(in), nil
	}
	var k string
	if err := json.Unmarshal(key, &k); err != nil {
		return "", fmt.Errorf("invalid key %s", key)
	}
	return k, nil
}

// knownKey returns the keys tiffin reads as constants, so they cost no
// allocation.
func knownKey(b []byte) string {
	for _, k := range [...]string{"binary_data_size", "binary_data", "binary_data_output", "timeout", "priority", "classification"} {
		if string(b) == k {
			return k
		}
	}
	return string(b)
}

// validValue checks what scanner.value does not: a literal's syntax, and
// a string's escapes. Objects and arrays, which the spec does not allow
// here, are checked whole.
func validValue(raw []byte) error {
	switch {
	case len(raw) == 0:
		return fmt.Errorf("missing value")
	case raw[0] == '"':
		if _, ok := plainString(raw); ok {
			return nil
		}
	case raw[0] == '{' || raw[0] == '[':
	case string(raw) == "true" || string(raw) == "false" || string(raw) == "null" || isNumber(raw):
		return nil
	default:
		return fmt.Errorf("invalid value %s", shown(raw))
	}
	if !json.Valid(raw) {
		return fmt.Errorf("invalid value %s", raw)
	}
	return nil
}

// isNumber reports whether b is a number in JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func isNumber(b []byte) bool {
	i := 0
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(b)
}

// outputs reads "outputs" (or null): an array of {"name", "parameters"},
// each on the element (and parameters array) an earlier request left.
func (s *scanner) outputs(out *[]outputRequest) error {
	*out = (*out)[:0]
	if s.isNull() {
		return nil
	}
	if err := s.opens('[', "outputs", "an array"); err != nil {
		return err
	}
	return s.array(func() error {
		if len(*out) == maxTensors {
			return s.errorf("the request asks for more than %d outputs", maxTensors)
		}
		o := grow(out)
		*o = outputRequest{Parameters: o.Parameters[:0]}
		if s.isNull() {
			return nil
		}
		return s.output(o)
	})
}

func (s *scanner) output(o *outputRequest) error {
	if err := s.opens('{', "outputs", "each output an object"); err != nil {
		return err
	}
	return s.object(func(key []byte) error {
		switch {
		case keyIs(key, "name"):
			return s.stringField("name", &o.Name, nil)
		case keyIs(key, "parameters"):
			return s.params("parameters", &o.Parameters)
		}
		_, err := s.value()
		return err
	})
}

// opens returns nil when the next value starts with open ('{' or '['),
// else an error naming the field and what it wants.
func (s *scanner) opens(open byte, field, want string) error {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == open {
		return nil
	}
	raw, err := s.value()
	if err != nil {
		return err
	}
	return fmt.Errorf("field %q: want %s, got %s", field, want, shown(raw))
}

// grow extends *xs by one element and returns it: the element left there
// by an earlier use of the backing array when there is room, else a zero
// one.
func grow[T any](xs *[]T) *T {
	if n := len(*xs); n < cap(*xs) {
		*xs = (*xs)[:n+1]
	} else {
		var zero T
		*xs = append(*xs, zero)
	}
	return &(*xs)[len(*xs)-1]
}
