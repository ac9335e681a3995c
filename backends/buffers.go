package backends

import (
	"math/bits"
	"sync"
)

// Output buffers are recycled. A batch's outputs live only until its
// requests' answers are copied out, yet they were two thirds of the bytes
// an mlp-large job allocated, and the collector ran about every 0.2 s
// during one (bench/README.md). A backend that knows its outputs' sizes
// before it runs takes their buffers from OutputBuffer; whoever ends up
// holding the only reference to a buffer (runtime.InferResponse's Recycle)
// gives it back with RecycleOutput.
//
// Buffers are kept in power-of-two size classes from 4 KiB to 64 MiB:
// smaller ones cost the collector little, larger ones are rare. A class's
// pool is a sync.Pool, so what is not reused goes at the next collections.

const (
	minClassBits = 12 // 4 KiB
	maxClassBits = 26 // 64 MiB
)

var outputPools [maxClassBits - minClassBits + 1]sync.Pool // of *[]byte, cap exactly the class's size

// sizeClass is the class whose buffers hold n bytes, or -1 when n is not
// pooled.
func sizeClass(n int) int {
	if n <= 1<<(minClassBits-1) || n > 1<<maxClassBits {
		return -1
	}
	return bits.Len(uint(n-1)) - minClassBits
}

// OutputBuffer returns n zeroed bytes for an output, from a recycled
// buffer when one of its class is free.
func OutputBuffer(n int) []byte {
	c := sizeClass(n)
	if c < 0 {
		return make([]byte, n)
	}
	if p, _ := outputPools[c].Get().(*[]byte); p != nil {
		b := (*p)[:n]
		clear(b) // nothing of an earlier answer shows through
		return b
	}
	return make([]byte, n, 1<<(c+minClassBits))
}

// RecycleOutput gives b back for a later OutputBuffer. The caller must
// hold the only reference to b's memory and drop it. A buffer OutputBuffer
// did not make (its capacity is not a class's size) is left to the
// collector.
func RecycleOutput(b []byte) {
	c := sizeClass(cap(b))
	if c < 0 || cap(b) != 1<<(c+minClassBits) {
		return
	}
	kept := b[:0] // a variable of its own: taking b's address would allocate on every call, pooled or not
	outputPools[c].Put(&kept)
}
