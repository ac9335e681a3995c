package jobs

import (
	"context"
	"sync"
	"time"
)

// deadlines hands a chunk's requests the model's request timeout as a
// context deadline, one context for every request that starts within
// timeout/deadlineShare of the one before. The runtime makes a context,
// and a timer, for a request whose caller's deadline is later than its
// timeout; a request per bulk batch made that ~4% of an mlp-small job's
// CPU. A request so gets between (1-1/deadlineShare) and all of its
// timeout, and a retried one gets a fresh deadline.
type deadlines struct {
	parent  context.Context
	timeout time.Duration // <= 0: the parent as it is

	mu     sync.Mutex
	live   []deadline // handed out, oldest first; the last is handed on until renew
	renew  time.Time  // when the last one is too near its end to hand out
	closed bool
}

type deadline struct {
	ctx    context.Context
	cancel context.CancelFunc
	at     time.Time
}

// deadlineShare: a context is handed out for 1/deadlineShare of the
// timeout (250 ms of the default 5 s).
const deadlineShare = 20

func newDeadlines(parent context.Context, timeout time.Duration) *deadlines {
	return &deadlines{parent: parent, timeout: timeout}
}

// next is the context for a request starting now.
func (d *deadlines) next() context.Context {
	if d.timeout <= 0 {
		return d.parent
	}
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return d.parent // the chunk is over; nothing should still ask
	}
	if k := len(d.live); k > 0 && now.Before(d.renew) {
		return d.live[k-1].ctx
	}
	// Contexts past their deadline have released their timers; drop them.
	w := 0
	for _, dl := range d.live {
		if now.Before(dl.at) {
			d.live[w] = dl
			w++
		} else {
			dl.cancel()
		}
	}
	clear(d.live[w:])
	d.live = d.live[:w]
	at := now.Add(d.timeout)
	ctx, cancel := context.WithDeadline(d.parent, at)
	d.live = append(d.live, deadline{ctx: ctx, cancel: cancel, at: at})
	d.renew = now.Add(d.timeout / deadlineShare)
	return ctx
}

// close cancels every context handed out: the chunk's requests are over.
func (d *deadlines) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, dl := range d.live {
		dl.cancel()
	}
	d.live, d.closed = nil, true
}
