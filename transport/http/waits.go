package http

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// hangupDelay is how long a request waits before its connection is
// watched for a hangup, and how often waiting requests are looked at.
// Watching costs a goroutine, a poller wake-up and a deadline timer
// (several µs); a request answered sooner never pays it, and one from a
// client that hung up waits at most about twice this long before it is
// dropped.
const hangupDelay = 2 * time.Millisecond

// hangupIdleTicks is how many empty ticks the ticker waits before it stops.
const hangupIdleTicks = 50

// waits tracks the inference requests waiting for the runtime. One ticker
// goroutine looks at them every hangupDelay while requests arrive: it ends
// a request whose deadline has passed, and starts watchHangup for one
// still waiting after hangupDelay. A request then costs a map insert and
// delete, not a timer of its own: a timer per request (context.WithTimeout)
// cost five allocations and a timer-heap update, and woke the network
// poller. A deadline is met within about two ticks of passing.
type waits struct {
	mu      sync.Mutex // protects: waiting, ticking, every wait.stop
	waiting map[*wait]struct{}
	ticking bool // the ticker goroutine runs
}

// wait is one waiting request.
type wait struct {
	conn  net.Conn
	ctx   *callContext
	since time.Time
	stop  func() // the running hangup watch's stop; nil until the ticker starts one
}

// callContext is an inference request's context on the HTTP path: its
// parent's values (the trace span), its deadline, and a Done channel
// closed when the deadline passes or the client hangs up, both noticed by
// waits. The parent's own cancellation is not followed: the parent is
// always derived from context.Background. A context never cancelled is
// reused by the next request (pool.go), its channel with it.
type callContext struct {
	context.Context // the parent
	deadline        time.Time
	done            chan struct{}
	err             atomic.Pointer[error] // nil while live
}

// reset makes c a live context for a new request.
func (c *callContext) reset(parent context.Context, deadline time.Time) {
	c.Context, c.deadline = parent, deadline
	if c.done == nil || c.err.Load() != nil {
		c.done = make(chan struct{})
		c.err.Store(nil)
	}
}

func (c *callContext) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *callContext) Done() <-chan struct{}       { return c.done }

func (c *callContext) Err() error {
	if err := c.err.Load(); err != nil {
		return *err
	}
	return nil
}

// cancel ends c with err, once.
func (c *callContext) cancel(err error) {
	if c.err.CompareAndSwap(nil, &err) {
		close(c.done)
	}
}

func (c *callContext) hungUp() { c.cancel(context.Canceled) }

// watch registers a request in w until done: ctx ends when its deadline
// passes, or when the client closes conn while the request is still
// waiting after hangupDelay, counted from since (the caller's clock read).
// w may be reused after done.
func (h *waits) watch(w *wait, conn net.Conn, ctx *callContext, since time.Time) {
	*w = wait{conn: conn, ctx: ctx, since: since}
	h.mu.Lock()
	if h.waiting == nil {
		h.waiting = make(map[*wait]struct{})
	}
	h.waiting[w] = struct{}{}
	start := !h.ticking
	h.ticking = true
	h.mu.Unlock()
	if start {
		go h.tick()
	}
}

// done ends w's registration, waiting for its hangup watch if one started.
// Its context is no longer ended by waits afterwards.
func (h *waits) done(w *wait) {
	h.mu.Lock()
	delete(h.waiting, w)
	stop := w.stop
	h.mu.Unlock()
	if stop != nil {
		stop()
	}
	*w = wait{} // drop the references; the ticker no longer sees w
}

// tick ends the requests past their deadline and starts the hangup watches
// that are due, every hangupDelay, and exits after hangupIdleTicks ticks
// with nothing waiting.
func (h *waits) tick() {
	for idle := 0; ; {
		time.Sleep(hangupDelay)
		h.mu.Lock()
		if len(h.waiting) == 0 {
			if idle++; idle >= hangupIdleTicks {
				h.ticking = false
				h.mu.Unlock()
				return
			}
		} else {
			idle = 0
		}
		now := time.Now()
		for w := range h.waiting {
			if !now.Before(w.ctx.deadline) {
				w.ctx.cancel(context.DeadlineExceeded)
			}
			if w.stop == nil && now.Sub(w.since) >= hangupDelay {
				w.stop = watchHangup(w.conn, w.ctx.hungUp)
			}
		}
		h.mu.Unlock()
	}
}
