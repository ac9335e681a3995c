package transport

import (
	"sync/atomic"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
)

// Budget bounds the bytes that requests in flight may hold, server-wide,
// across both front ends (--max-inflight-bytes). A request reserves what it
// will hold before it reads or decodes its body; when the budget is spent
// it is refused at once (429 / RESOURCE_EXHAUSTED), never queued, so a
// burst of large requests costs memory up to the budget and no more.
type Budget struct {
	limit int64
	used  atomic.Int64
}

// NewBudget returns a budget of limit bytes; limit <= 0 is no bound.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// Reserve takes n bytes from the budget; the caller gives them back with
// Release. A nil budget has no bound.
func (b *Budget) Reserve(n int64) error { return b.ReserveMore(n, 0) }

// ReserveMore takes n more bytes for a request that already holds held
// bytes of the budget. A request whose whole need is over the budget is
// refused as too large (413, which clients do not retry), not as "retry
// later": a BYTES request's strings had been weighed alone, and the
// request was told to retry although its own body held the rest.
func (b *Budget) ReserveMore(n, held int64) error {
	if b == nil || b.limit <= 0 || n <= 0 {
		return nil
	}
	if n+held > b.limit { // never servable
		return runtime.Errorf(runtime.KindTooLarge,
			"this request needs about %d bytes in memory, more than the whole in-flight budget of %d (--max-inflight-bytes): send less, or raise the budget", n+held, b.limit)
	}
	for {
		used := b.used.Load()
		if used+n > b.limit {
			return runtime.Errorf(runtime.KindResourceExhausted,
				"the server is at its in-flight memory budget (%d of %d bytes held by requests in flight; this request needs %d; --max-inflight-bytes): retry later",
				used, b.limit, n)
		}
		if b.used.CompareAndSwap(used, used+n) {
			return nil
		}
	}
}

// Release gives back n bytes taken by Reserve.
func (b *Budget) Release(n int64) {
	if b == nil || b.limit <= 0 || n <= 0 {
		return
	}
	b.used.Add(-n)
}

// Used is how many bytes requests in flight hold now.
func (b *Budget) Used() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

// MaxExpansion and ExpansionSlack bound what a request may decode to:
// at most MaxExpansion times its size on the wire, plus ExpansionSlack.
// Raw tensors decode to their own size and typed numbers to at most eight
// times theirs; what goes past is refused before it is decoded, naming
// what makes it so (many tiny BYTES elements, empty inputs, parameters).
const (
	MaxExpansion   = 16
	ExpansionSlack = 1 << 20
)

// StringElementCost is about what one BYTES element costs the server
// beyond its own bytes, from decoding to the backend's copies: its slice
// header, the backend's string and C copy, and the same again if the
// model answers in BYTES. Empty elements, four bytes each on the wire,
// took ~37 times their size in memory before this was bounded.
const StringElementCost = 160

// ChargeStrings reserves from b what a request's BYTES inputs will cost
// beyond its body of bodyBytes (for which it holds held bytes of b), once
// their shapes are known and before any element is decoded, and returns
// what it reserved. A request whose elements would take more than
// MaxExpansion times its size is refused: millions of empty strings in a
// few megabytes.
func ChargeStrings(b *Budget, inputs []backends.Tensor, bodyBytes int, held int64) (int64, error) {
	var n int64
	for i := range inputs {
		if inputs[i].DataType == backends.Bytes {
			n += max(inputs[i].NumElements(), 0)
		}
	}
	// No more elements than the body could hold (two bytes each at the
	// least, `""` in JSON): a shape that claims more is refused for that
	// when its data is read.
	n = min(n, int64(bodyBytes)/2)
	cost := n * StringElementCost
	if cost > MaxExpansion*int64(bodyBytes)+ExpansionSlack {
		return 0, runtime.Errorf(runtime.KindInvalidArgument,
			"request of %d bytes holds %d BYTES elements, which would take about %d bytes once decoded (more than %dx its size): send fewer, longer elements",
			bodyBytes, n, cost, MaxExpansion)
	}
	if err := b.ReserveMore(cost, held); err != nil {
		return 0, err
	}
	return cost, nil
}
