package batcher

import (
	"strings"
	"testing"
)

// TestModeRegistry checks that every mode in the registry parses back to
// itself and builds a batcher, so a new entry is enough to use a mode.
func TestModeRegistry(t *testing.T) {
	names := ModeNames()
	if len(names) != len(modes) || names[ModeOff] != "off" || names[ModeStatic] != "static" || names[ModeAdaptive] != "adaptive" {
		t.Fatalf("ModeNames() = %v", names)
	}
	for i, name := range names {
		m, err := ParseMode(name)
		if err != nil || m != Mode(i) || m.String() != name {
			t.Fatalf("ParseMode(%q) = %v, %v; want Mode(%d)", name, m, err, i)
		}
		b, err := New(Config[*testReq]{Mode: m, MaxBatch: 8, OnDrop: func(*testReq, error) {}}, "cpu")
		if err != nil {
			t.Fatalf("mode %s: %v", name, err)
		}
		b.Close()
	}
	if _, err := ParseMode("eager"); err == nil || !strings.Contains(err.Error(), strings.Join(names, ", ")) {
		t.Fatalf("ParseMode(eager) = %v, want an error listing the modes", err)
	}
}
