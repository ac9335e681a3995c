package jobs

import (
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestDecodeHybrid decodes runs written by hand from the Parquet spec's
// grammar: a header varint (run length << 1 for a repeated value, groups
// of 8 << 1 | 1 for packed ones), then the value or the packed bits.
func TestDecodeHybrid(t *testing.T) {
	for _, c := range []struct {
		name string
		b    []byte
		w    int
		want []uint32
	}{
		{"repeated", []byte{5 << 1, 3}, 2, []uint32{3, 3, 3, 3, 3}},
		{"repeated, two bytes wide", []byte{2 << 1, 0x34, 0x12}, 13, []uint32{0x1234, 0x1234}},
		// 0,1,1,1,0,1,1,1 packed one bit each, least significant first: 0b11101110.
		{"packed width 1", []byte{1<<1 | 1, 0xEE}, 1, []uint32{0, 1, 1, 1, 0, 1, 1, 1}},
		// 0..7 packed 3 bits each: 24 bits, 0b_111_110_101_100_011_010_001_000.
		{"packed width 3", []byte{1<<1 | 1, 0x88, 0xC6, 0xFA}, 3, []uint32{0, 1, 2, 3, 4, 5, 6, 7}},
		{"packed run padded past the values", []byte{1<<1 | 1, 0xEE}, 1, []uint32{0, 1, 1}},
		{"a repeated run, then a packed one", []byte{3 << 1, 1, 1<<1 | 1, 0x01}, 1, []uint32{1, 1, 1, 1, 0, 0}},
		{"width 0", []byte{4 << 1}, 0, []uint32{0, 0, 0, 0}},
		{"a long run, varint header", []byte{0x80, 0x02, 7}, 3, slices.Repeat([]uint32{7}, 128)},
	} {
		got := make([]uint32, len(c.want))
		if err := decodeHybrid(c.b, c.w, got); err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: %v %v, want %v", c.name, got, err, c.want)
		}
	}
	for _, c := range []struct {
		name string
		b    []byte
		w    int
		n    int
	}{
		{"no runs", nil, 1, 1},
		{"runs end early", []byte{2 << 1, 1}, 1, 3},
		{"packed bytes missing", []byte{2<<1 | 1, 0xFF}, 1, 16},
		{"value wider than the width", []byte{1 << 1, 4}, 2, 1},
		{"width over 32", []byte{1 << 1, 0}, 33, 1},
		{"header cut short", []byte{0x80}, 1, 1},
	} {
		if err := decodeHybrid(c.b, c.w, make([]uint32, c.n)); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// FuzzDecodeHybrid: any bytes, width and count give values or an error,
// never a panic or a value wider than the width.
func FuzzDecodeHybrid(f *testing.F) {
	f.Add([]byte{1<<1 | 1, 0xEE}, uint8(1), uint16(8))
	f.Add([]byte{0x80, 0x02, 7}, uint8(3), uint16(128))
	f.Add([]byte{3 << 1, 1, 1<<1 | 1, 0x01}, uint8(17), uint16(9))
	f.Fuzz(func(t *testing.T, b []byte, w uint8, n uint16) {
		dst := make([]uint32, n%4096)
		width := int(w % 34)
		if err := decodeHybrid(b, width, dst); err != nil || width >= 32 {
			return
		}
		for _, v := range dst {
			if v>>width != 0 {
				t.Fatalf("value %d wider than %d bits", v, width)
			}
		}
	})
}

// TestRecyclerReusesZeroed: a freed buffer comes back for the next
// allocation it fits, zeroed, and growing one in place zeroes the growth.
func TestRecyclerReusesZeroed(t *testing.T) {
	r := &recycler{mem: memory.NewGoAllocator()}
	a := r.Allocate(100)
	for i := range a {
		a[i] = 0xFF
	}
	r.Free(a)
	b := r.Allocate(64)
	if &b[:1][0] != &a[:1][0] || len(b) != 64 || slices.ContainsFunc(b, func(x byte) bool { return x != 0 }) {
		t.Fatalf("not the freed buffer, zeroed: len %d %v", len(b), b[:8])
	}
	for i := range b {
		b[i] = 0xFF
	}
	c := r.Reallocate(cap(b), b)
	if slices.ContainsFunc(c[64:], func(x byte) bool { return x != 0 }) || c[0] != 0xFF {
		t.Fatalf("grown in place: %v", c[60:70])
	}
	if d := r.Allocate(1 << 20); len(d) != 1<<20 {
		t.Fatal(len(d))
	}
}
