package runtime

import (
	"sync/atomic"
	"time"
)

// The fair share beyond the batcher. While interactive requests arrive, the
// batcher holds bulk batches to BulkShare of each device group's compute
// (batcher/share.go). A job's own work, reading its upload, decoding
// Parquet, queueing its chunks, runs on the same cores but in no batcher;
// BulkPause lets it keep to the same share: the job service asks after each
// piece of that work and sleeps what it is told.

// bulkIdle is how long interactive traffic must be quiet for bulk work to
// take all the time, as the batcher's shareIdle.
const bulkIdle = 100 * time.Millisecond

// paceEpoch makes the monotonic clock an int64 for lastInteractive.
var paceEpoch = time.Now()

// interactiveClock records when an interactive request last arrived, and,
// for the batchers' Config.Traffic, when interactive batches are due and
// running on the front end's cores, so that a bulk batch there starts only
// where it ends before the next one (Room). It is one clock for the
// process: every batcher's interactive batches count.
type interactiveClock struct {
	last    atomic.Int64 // ns since paceEpoch; 0: never
	due     atomic.Int64 // the earliest interactive batch due, ns since paceEpoch; stale once past
	running atomic.Int32 // interactive batches running now
	ended   atomic.Int64 // when the last interactive batch ended, ns since paceEpoch; 0: never
}

// Tuning of Room.
const (
	// trafficMargin is the room a bulk batch must leave before an
	// interactive batch is due.
	trafficMargin = 100 * time.Microsecond
	// trafficAfter is how long after an interactive batch bulk stays
	// off: its requests' answers are written then.
	trafficAfter = 200 * time.Microsecond
	// trafficPoll is how long a bulk batch is held while an interactive
	// batch runs, or is due and has not run yet, whose end is not known
	// ahead.
	trafficPoll = 100 * time.Microsecond
	// trafficLate bounds how long past its due time an interactive batch
	// that has not run still holds bulk (its requests may have gone).
	trafficLate = 2 * time.Millisecond
)

// Due records that an interactive batch is due in wait.
func (c *interactiveClock) Due(wait time.Duration) {
	now := int64(time.Since(paceEpoch))
	at := now + int64(wait)
	for {
		cur := c.due.Load()
		if cur > now && cur <= at {
			return // an earlier one is still ahead
		}
		if c.due.CompareAndSwap(cur, at) {
			return
		}
	}
}

// Room is how much bulk compute may start now (batcher.Traffic): none
// while an interactive batch runs and for trafficAfter after, nor once
// one is due until it has run; otherwise the time left until the next is
// due, less trafficMargin, or -1 when none is.
func (c *interactiveClock) Room() (room, hold time.Duration) {
	now := int64(time.Since(paceEpoch))
	if c.running.Load() > 0 {
		return 0, trafficPoll
	}
	ended := c.ended.Load()
	if ended != 0 && now < ended+int64(trafficAfter) {
		return 0, time.Duration(ended + int64(trafficAfter) - now)
	}
	due := c.due.Load()
	switch {
	case due > now+int64(trafficMargin):
		return time.Duration(due-now) - trafficMargin, 0
	case due > now:
		return 0, time.Duration(due - now) // then it is due: held until it has run
	case due != 0 && ended < due && now < due+int64(trafficLate):
		return 0, trafficPoll // due, and its thread has not run it yet
	}
	return -1, 0
}

// batchStarted and batchEnded bracket an interactive batch's run.
func (c *interactiveClock) batchStarted() { c.running.Add(1) }
func (c *interactiveClock) batchEnded() {
	c.ended.Store(max(int64(time.Since(paceEpoch)), 1))
	c.running.Add(-1)
}

// note records an arrival. It rewrites the shared word at most once a
// millisecond, so that requests on many cores do not fight over its cache
// line.
func (c *interactiveClock) note() {
	now := max(int64(time.Since(paceEpoch)), 1)
	if last := c.last.Load(); last == 0 || now-last > int64(time.Millisecond) {
		c.last.Store(now)
	}
}

// recent reports whether an interactive request arrived within bulkIdle.
func (c *interactiveClock) recent() bool {
	last := c.last.Load()
	return last != 0 && int64(time.Since(paceEpoch))-last < int64(bulkIdle)
}

// traffic is the clock as the batchers' and workers' Config.Traffic: on
// when bulk work is held to a share beside interactive traffic, nil (no
// coordination, no cost) otherwise.
func (m *Manager) traffic() *interactiveClock {
	if m.bulkShare <= 0 || m.bulkShare >= 1 {
		return nil
	}
	return &m.interactive
}

// BulkPause is how long bulk work that has just run for work outside the
// batcher should pause to keep within BulkShare of the time while
// interactive requests arrive: work·(1−share)/share. It is 0 when no
// interactive request arrived in the last 100 ms, or the share is
// unlimited (0 or 1).
func (m *Manager) BulkPause(work time.Duration) time.Duration {
	s := m.bulkShare
	if s <= 0 || s >= 1 || work <= 0 || !m.interactive.recent() {
		return 0
	}
	return time.Duration(float64(work) * (1 - s) / s)
}

// BulkWork marks a piece of a job's work (splitting an upload, scoring a
// chunk) as running until done is called; while any runs, the process
// holds one more P for it (procs.go, bulkWork).
func (m *Manager) BulkWork() (done func()) { return procs.bulkWork(m.log) }
