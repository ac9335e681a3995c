package backends

import "testing"

func TestSizeClass(t *testing.T) {
	for _, c := range []struct{ n, class int }{
		{0, -1}, {2048, -1}, {2049, 0}, {4096, 0}, {4097, 1}, {1 << 20, 8}, {1<<20 + 1, 9}, {1 << 26, 14}, {1<<26 + 1, -1},
	} {
		if got := sizeClass(c.n); got != c.class {
			t.Errorf("sizeClass(%d) = %d, want %d", c.n, got, c.class)
		}
	}
}

// A buffer comes back with the length asked, zeroed even when it was
// recycled full of an earlier answer; one OutputBuffer did not make is
// not taken.
func TestOutputBufferRecycled(t *testing.T) {
	for _, n := range []int{100, 5000, 128 << 10, 3 << 20} {
		for range 3 {
			b := OutputBuffer(n)
			if len(b) != n {
				t.Fatalf("OutputBuffer(%d) has length %d", n, len(b))
			}
			for i, v := range b {
				if v != 0 {
					t.Fatalf("OutputBuffer(%d): byte %d is %d, not zero", n, i, v)
				}
			}
			for i := range b {
				b[i] = 0xAB
			}
			RecycleOutput(b)
		}
	}
	odd := make([]byte, 5000, 6000)
	RecycleOutput(odd) // not a class's size: left to the collector
	if b := OutputBuffer(5000); cap(b) == 6000 {
		t.Fatal("a buffer of another capacity came back from the pool")
	}
}

// A buffer too small for a class, as a tiny model's output is, goes back
// to the collector without costing RecycleOutput an allocation.
func TestRecycleOutputOfUnpooledAllocatesNothing(t *testing.T) {
	small := make([]byte, 16)
	if n := testing.AllocsPerRun(100, func() { RecycleOutput(small) }); n != 0 {
		t.Errorf("RecycleOutput of a 16-byte buffer allocated %v times", n)
	}
}
