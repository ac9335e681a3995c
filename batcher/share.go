package batcher

import (
	"math"
	"time"
)

// The fair share: while interactive requests arrive, bulk batches take at
// most Config.BulkShare of each device group's compute time; once no
// interactive request has arrived for shareIdle (at this batcher, or, by
// Config.Interactive, at the other models on the same devices), bulk takes
// all of it.
// The gate is consulted where a group's leader picks a batch (choose, in
// form.go): a bulk batch waits while the group's recent bulk compute is
// over its share. Everything here is guarded by Batcher.mu and allocates
// nothing.
const (
	shareTau  = 250 * time.Millisecond // the decay time of the compute accounting
	shareIdle = 100 * time.Millisecond // interactive traffic this long quiet is idle
)

// shareGate is one device group's accounting of compute time.
type shareGate struct {
	bulk     float64 // bulk compute, ns, decayed with shareTau
	all      float64 // all compute, ns, decayed likewise
	at       int64   // when bulk and all were last decayed, batcher clock
	inflight int     // batches handed out and not yet Done
	peak     int     // the most batches in flight at once: the group's workers, as seen
	perRow   float64 // compute per row of recent batches that held bulk rows, ns; 0 until one ran
	lastBulk int64   // when a batch with bulk rows was last handed out, batcher clock
}

// Tuning of the per-row estimate a bulk batch's cost is told to
// Config.Traffic with.
const (
	perRowWeight = 0.2 // EWMA weight of the latest batch
	perRowClip   = 2.0 // a batch above this many times the estimate counts as this: a preempted call is not the cost
	// trafficMaxHold bounds how long Config.Traffic may hold bulk back
	// since a bulk batch last went: interactive work that never leaves
	// room (back-to-back windows, a hung call) must not stop a job.
	trafficMaxHold = 10 * time.Millisecond
)

// decay brings the sums to now.
func (s *shareGate) decay(now int64) {
	if now > s.at {
		f := math.Exp(-float64(now-s.at) / float64(shareTau))
		s.bulk, s.all, s.at = s.bulk*f, s.all*f, now
	}
}

// dispatched counts a batch handed to a worker.
func (s *shareGate) dispatched() {
	s.inflight++
	s.peak = max(s.peak, s.inflight)
}

// done accounts a batch's compute, split between bulk and interactive by
// rows.
func (s *shareGate) done(now int64, compute time.Duration, bulkRows, rows int) {
	s.inflight = max(s.inflight-1, 0)
	if rows == 0 {
		return
	}
	s.decay(now)
	c := float64(compute)
	s.bulk += c * float64(bulkRows) / float64(rows)
	s.all += c
	if bulkRows > 0 && c > 0 {
		per := c / float64(rows)
		if s.perRow == 0 {
			s.perRow = per
		} else {
			s.perRow += perRowWeight * (min(per, perRowClip*s.perRow) - s.perRow)
		}
	}
}

// cost is what a batch of rows is expected to take, by the recent compute
// per row of batches with bulk rows; 0 before one ran.
func (s *shareGate) cost(rows int) time.Duration {
	return time.Duration(s.perRow * float64(rows))
}

// capacity is the compute the group's workers could do within the decay
// window: the budget a share is taken of.
func (s *shareGate) capacity() float64 { return float64(shareTau) * float64(max(s.peak, 1)) }

// wait is how long a bulk batch must wait for its share at now: 0 when it
// may go. share >= 1 (or 0, unset) never waits.
func (s *shareGate) wait(now int64, share float64) time.Duration {
	if share <= 0 || share >= 1 {
		return 0
	}
	s.decay(now)
	limit := share * s.capacity()
	if s.bulk <= limit {
		return 0
	}
	// bulk·e^(-t/τ) = limit
	return time.Duration(float64(shareTau)*math.Log(s.bulk/limit)) + time.Microsecond
}

// got is the share of the group's compute capacity bulk work used lately.
func (s *shareGate) got(now int64) float64 {
	s.decay(now)
	return min(s.bulk/s.capacity(), 1)
}

// bulkGate reports how long group g must hold back a bulk batch at now:
// 0 when interactive traffic, here and (Config.Interactive) on the models
// that share the devices, is idle, or bulk is within its share (and, for
// a batch of its own, led by head, keeps clear of interactive batches:
// trafficGate). Bulk rows riding in an interactive batch (head nil) ask
// only about the share.
func (b *Batcher[R]) bulkGate(g *group, now int64, head *entry[R]) time.Duration {
	if !b.interactiveActive(now) {
		return 0
	}
	if wait := g.share.wait(now, b.cfg.BulkShare); wait > 0 || head == nil {
		return wait
	}
	return b.trafficGate(g, now, head)
}

// trafficGate holds a bulk batch of a group whose instances run on the
// front end's cores (Config.SharedCores) so that it does not run across an
// interactive batch there: the kernel does not reliably take the core
// from it (bench/README.md, "Where the fair-share p99 goes"). It goes only
// when, by the group's recent compute per row, it ends before the next
// interactive batch is due (Config.Traffic); else it waits, but never
// more than trafficMaxHold since the last bulk batch went. (Cut to fit
// instead, batches overran: the estimate is of calls that vary.)
func (b *Batcher[R]) trafficGate(g *group, now int64, head *entry[R]) time.Duration {
	if b.cfg.Traffic == nil || !g.shared || now-g.share.lastBulk >= int64(trafficMaxHold) {
		return 0
	}
	room, hold := b.cfg.Traffic.Room()
	if hold > 0 || room < 0 {
		return hold
	}
	if g.share.cost(min(b.rowsByKey[head.key], b.cfg.MaxBatch)) > room {
		hold = max(room, time.Microsecond)
	}
	// Never past the bound: then the batch goes.
	return min(hold, time.Duration(g.share.lastBulk+int64(trafficMaxHold)-now))
}

// bulkRows counts a batch's rows that are bulk.
func bulkRows[R Request](parts []Part[R]) int {
	n := 0
	for _, p := range parts {
		if p.Req.Priority() != Interactive {
			n += p.Rows
		}
	}
	return n
}

// interactiveActive reports whether interactive requests arrived lately,
// here or (Config.Interactive) on the models that share the devices.
func (b *Batcher[R]) interactiveActive(now int64) bool {
	return now-b.lastInteractive < int64(shareIdle) || (b.cfg.Interactive != nil && b.cfg.Interactive())
}
