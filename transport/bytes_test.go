package transport

import (
	"runtime"
	"strings"
	"testing"
)

// SplitBytesElements stops at the first element past the shape's count,
// so data of millions of empty elements for a shape of one costs nothing.
func TestSplitBytesElementsStopsAtTheShape(t *testing.T) {
	raw := make([]byte, 16<<20) // 4M empty elements
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := SplitBytesElements(raw, 1)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "shape holds 1 BYTES elements but data has more") {
		t.Fatalf("error %v, want the extra elements named", err)
	}
	// Before, the 4M elements' slice headers alone were 96 MB; the bound
	// leaves room for what else the process allocates meanwhile.
	if n := after.TotalAlloc - before.TotalAlloc; n > 256<<10 {
		t.Fatalf("refusing the data allocated %d bytes", n)
	}
	got, err := SplitBytesElements([]byte{1, 0, 0, 0, 'a', 0, 0, 0, 0}, 2)
	if err != nil || len(got) != 2 || string(got[0]) != "a" || len(got[1]) != 0 {
		t.Fatalf("%q, %v; want [a, \"\"]", got, err)
	}
}
