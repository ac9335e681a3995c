package http

import "sync"

// An inference request's memory on the HTTP path (its body, parsed JSON,
// decoded tensors and their backing arrays) lives in one decoded, taken
// from a pool and given back once the request is answered. A request the
// runtime failed is not given back: a timed-out request may still sit in a
// batch that reads its tensors, so its memory is left to the collector.

// pooledBytes bounds what a pooled request keeps of each buffer, so the
// pool never holds a large request's memory after it.
const pooledBytes = 64 << 10

// pooledInputs bounds how many inputs' arrays a pooled request keeps.
const pooledInputs = 16

var decodedPool = sync.Pool{New: func() any { return new(decoded) }}

func getDecoded() *decoded { return decodedPool.Get().(*decoded) }

// putDecoded gives d back for a later request. Nothing may refer to d, its
// request or its tensors afterwards.
func putDecoded(d *decoded) {
	if cap(d.body) > pooledBytes {
		d.body = nil
	}
	if cap(d.rj.Inputs) > pooledInputs {
		d.rj.Inputs, d.req.Inputs = nil, nil
	}
	for i := range d.rj.Inputs {
		if cap(d.rj.Inputs[i].spare.data) > pooledBytes {
			d.rj.Inputs[i].spare.data = nil
		}
	}
	clear(d.req.Inputs) // drop the tensors' references until reused
	decodedPool.Put(d)
}
