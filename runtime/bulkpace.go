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

// interactiveClock records when an interactive request last arrived.
type interactiveClock struct {
	last atomic.Int64 // ns since paceEpoch; 0: never
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
