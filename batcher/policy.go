package batcher

import (
	"slices"
	"time"
)

// state is what a policy sees when an idle worker of its group asks for a
// batch. The candidate batch is the one for the head request: the oldest
// interactive request, or the oldest bulk one when no interactive request
// waits. All times come from the caller, so policies need no clock.
type state struct {
	now      time.Duration // the caller's clock (the batcher's: time since New)
	oldest   time.Duration // queue delay so far of the head request
	items    int           // rows waiting that could join the candidate batch (same key)
	bulkOnly bool          // no interactive request is waiting
	rate     float64       // arrival rate, items per second (EWMA)
	clumped  float64       // the rate inside clumps of arrivals, items per second (rateMeter.clumped)
}

// decision is a policy's answer. When dispatch is set the batch takes
// min(size, items) rows; otherwise the worker waits for the next arrival
// or for wait (> 0), whichever is first, and asks again.
type decision struct {
	dispatch bool
	reason   Reason
	size     int
	wait     time.Duration
}

// policy decides when a group's idle worker takes a batch and learns from
// the batches it ran. Each device group has its own. All methods are
// called with Batcher.mu held.
type policy interface {
	// decide is called each time the group's leading worker looks at
	// the queue.
	decide(s state) decision
	// observe is called from Done for each batch the group ran: its
	// size, its oldest item's queue delay and its compute time.
	observe(n int, wait, compute time.Duration)
	// snapshot reports the current window and target for Stats.
	snapshot() GroupStats
}

func newPolicy[R Request](cfg Config[R], group string) policy {
	return modes[cfg.Mode].policy(policyConfig{maxBatch: cfg.MaxBatch, window: cfg.MaxQueueDelay,
		preferred: cfg.Preferred, latencyTarget: cfg.LatencyTarget, sharedCores: slices.Contains(cfg.SharedCores, group)})
}

// offPolicy dispatches each request alone as soon as it is seen. The
// batcher takes the head request whole (no splitting) in this mode.
type offPolicy struct{}

func (offPolicy) decide(state) decision {
	return decision{dispatch: true, reason: ReasonUnbatched, size: 1}
}

func (offPolicy) observe(int, time.Duration, time.Duration) {}

func (offPolicy) snapshot() GroupStats { return GroupStats{Policy: "off", Target: 1} }

// staticPolicy is the fixed-knob policy: full at max, early at a preferred
// size when nothing more is waiting, otherwise when the window since the
// oldest item's arrival expires.
type staticPolicy struct {
	max       int
	window    time.Duration
	preferred []int // sorted, unique, each in [1, max]
}

func (p *staticPolicy) decide(s state) decision {
	switch {
	case s.items >= p.max:
		return decision{dispatch: true, reason: ReasonFull, size: p.max}
	case p.isPreferred(s.items):
		return decision{dispatch: true, reason: ReasonPreferred, size: s.items}
	case s.oldest >= p.window:
		return decision{dispatch: true, reason: ReasonWindow, size: s.items}
	}
	return decision{wait: p.window - s.oldest}
}

func (p *staticPolicy) isPreferred(n int) bool {
	_, found := slices.BinarySearch(p.preferred, n)
	return found
}

func (p *staticPolicy) observe(int, time.Duration, time.Duration) {}

func (p *staticPolicy) snapshot() GroupStats {
	return GroupStats{Policy: "static", Window: p.window, Target: p.max}
}
