package http

import (
	"net"
	"sync"
	"time"
)

// hangupDelay is how long a request waits before its connection is
// watched for a hangup. Watching costs a goroutine, a poller wake-up and a
// deadline timer (several µs); a request answered sooner never pays it,
// and one from a client that hung up waits at most about twice this long
// before it is dropped.
const hangupDelay = 2 * time.Millisecond

// hangupIdleTicks is how many empty ticks the ticker waits before it stops.
const hangupIdleTicks = 50

// hangups starts watchHangup for the inference requests still waiting
// after hangupDelay. One ticker goroutine looks every hangupDelay while
// requests arrive, so a request costs a map insert and delete, not a timer
// of its own (a timer per request woke the network poller every time).
type hangups struct {
	mu      sync.Mutex // protects: waiting, ticking, every hangupWatch.stop
	waiting map[*hangupWatch]struct{}
	ticking bool // the ticker goroutine runs
}

// hangupWatch is one waiting request.
type hangupWatch struct {
	conn   net.Conn
	cancel func()
	since  time.Time
	stop   func() // the running watch's stop; nil until the ticker starts one
}

// watch registers a request: cancel is called if the client closes conn
// while the request is still waiting after hangupDelay. Call done before
// the handler returns.
func (h *hangups) watch(conn net.Conn, cancel func()) *hangupWatch {
	w := &hangupWatch{conn: conn, cancel: cancel, since: time.Now()}
	h.mu.Lock()
	if h.waiting == nil {
		h.waiting = make(map[*hangupWatch]struct{})
	}
	h.waiting[w] = struct{}{}
	start := !h.ticking
	h.ticking = true
	h.mu.Unlock()
	if start {
		go h.tick()
	}
	return w
}

// done ends w's watch, waiting for it if one started.
func (h *hangups) done(w *hangupWatch) {
	h.mu.Lock()
	delete(h.waiting, w)
	stop := w.stop
	h.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// tick starts the watches that are due, every hangupDelay, and exits after
// hangupIdleTicks ticks with nothing waiting.
func (h *hangups) tick() {
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
			if w.stop == nil && now.Sub(w.since) >= hangupDelay {
				w.stop = watchHangup(w.conn, w.cancel)
			}
		}
		h.mu.Unlock()
	}
}
