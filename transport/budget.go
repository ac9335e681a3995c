package transport

import (
	"sync/atomic"

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
func (b *Budget) Reserve(n int64) error {
	if b == nil || b.limit <= 0 || n <= 0 {
		return nil
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
