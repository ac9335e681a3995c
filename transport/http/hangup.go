package http

import (
	"net"
	"sync"
	"time"
)

// hangupDelay is how long a request waits before its connection is
// watched for a hangup. Watching costs a goroutine, a poller registration
// and a wake-up (several µs); a request answered sooner than this never
// pays it, and one from a client that hung up costs at most this much queue
// time before it is dropped.
const hangupDelay = 2 * time.Millisecond

// hangupWatch is a watchHangup that starts after hangupDelay, unless the
// request is answered first.
type hangupWatch struct {
	timer *time.Timer

	mu      sync.Mutex // protects: stopped, stopOne
	stopped bool
	stopOne func() // the running watch's stop; nil until it starts
}

// watchHangupLater calls cancel when the client closes conn while its
// request waits longer than hangupDelay. Call stop before the handler
// returns: it ends the watch, waiting for it if it started.
func watchHangupLater(conn net.Conn, cancel func()) *hangupWatch {
	h := &hangupWatch{}
	h.timer = time.AfterFunc(hangupDelay, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if !h.stopped {
			h.stopOne = watchHangup(conn, cancel)
		}
	})
	return h
}

func (h *hangupWatch) stop() {
	if h.timer.Stop() {
		return // it never started
	}
	h.mu.Lock()
	h.stopped = true
	stop := h.stopOne
	h.mu.Unlock()
	if stop != nil {
		stop()
	}
}
