package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ByteSize is a number of bytes, written in YAML as a whole number of bytes
// or as a number with a unit: "512MiB", "2GiB", "1.5GB" (B, KB, MB, GB, TB
// are powers of 1000; KiB, MiB, GiB, TiB powers of 1024).
type ByteSize uint64

var byteUnits = []struct {
	suffix string
	size   float64
}{ // longest suffixes first, so "MiB" is not read as "B"
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// ParseByteSize reads "2GiB", "512MiB", "1.5GB" or "1048576".
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	num, unit := t, 1.0
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			num, unit = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.size
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("want a size such as \"2GiB\", \"512MiB\" or a whole number of bytes, got %q", s)
	}
	b := v * unit
	if b >= math.MaxUint64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return ByteSize(b), nil
}

// UnmarshalYAML accepts a whole number of bytes or a string with a unit.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a size such as \"2GiB\", got a %s", n.Line, nodeKind(n))
	}
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*b = v
	return nil
}

// MarshalYAML writes the size back in bytes.
func (b ByteSize) MarshalYAML() (any, error) { return uint64(b), nil }

// String renders the size in the largest binary unit that divides it
// evenly, such as "2GiB" or "1536MiB".
func (b ByteSize) String() string {
	for i := 3; i >= 0; i-- {
		u := byteUnits[i]
		if b > 0 && uint64(b)%uint64(u.size) == 0 {
			return fmt.Sprintf("%d%s", uint64(b)/uint64(u.size), u.suffix)
		}
	}
	return fmt.Sprintf("%dB", uint64(b))
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}
