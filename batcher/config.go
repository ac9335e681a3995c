package batcher

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Defaults for the Config fields left zero.
const (
	DefaultQueueSize     = 1024
	DefaultLatencyTarget = 50 * time.Millisecond
)

// Config tunes one batcher (one model version).
type Config[R Request] struct {
	// Mode picks the policy. ModeOff, or MaxBatch of 0 or 1, hands each
	// request to a worker alone and at once, whatever its Rows.
	Mode Mode
	// MaxBatch is the most items (rows, not requests) one batch holds.
	MaxBatch int
	// MaxQueueDelay is the static window: a batch leaves at the latest
	// this long after its oldest item arrived. Adaptive mode does not use
	// it (it chooses its own waits). It never drops anything: deadlines
	// are the requests' contexts.
	MaxQueueDelay time.Duration
	// Preferred are batch sizes the backend runs well (static mode): a
	// batch leaves early when the items waiting for it are exactly one of
	// them. Each must be in [1, MaxBatch].
	Preferred []int
	// QueueSize bounds the requests held (queued or partly dispatched).
	// Submit beyond it fails at once with ErrQueueFull. 0 means
	// DefaultQueueSize.
	QueueSize int
	// LatencyTarget is what adaptive mode keeps queue delay plus compute
	// under, per batch's oldest item: it never waits past it. 0 means
	// DefaultLatencyTarget.
	LatencyTarget time.Duration
	// BulkShare is the most of each device group's compute time bulk
	// requests take while interactive ones arrive (share.go); when none
	// has arrived lately, bulk takes all of it. 0 or 1: no limit.
	BulkShare float64
	// Interactive, when set, reports whether interactive requests arrived
	// lately anywhere that shares this batcher's devices (other models on
	// the same cores), so that their traffic holds this batcher's bulk to
	// its share too. nil: only this batcher's own requests count. It is
	// called under the batcher's lock: it must be quick and must not call
	// the batcher.
	Interactive func() bool
	// Traffic, when set, coordinates bulk batches with interactive work
	// on the same cores across batchers (share.go): it is told when this
	// batcher's next interactive batch is due, and asked before a bulk
	// batch goes how long to hold it so that it does not run across
	// interactive work. Its methods are called under the batcher's lock:
	// they must be quick and must not call the batcher.
	Traffic Traffic
	// SharedCores names the device groups whose instances run on the
	// front end's own cores (the runtime's lent instances): while such an
	// instance waits for a batch to fill, its cores serve the front end
	// that reads those rows, so in ModeAdaptive a wait costs it only the
	// wake-up, not the time waited (adaptive.go, bestWait).
	SharedCores []string

	// OnDrop is called once for each submitted request whose context was
	// done before all its rows were handed out, with context.Cause of its
	// context. Some parts of the request may already be in batches. It is
	// called from a worker's Next, outside the batcher's locks, and must
	// not block for long or call Next. Required.
	OnDrop func(r R, err error)
	// OnBatch, when set, is called from Done with each batch's stats (for
	// metrics). Same rules as OnDrop.
	OnBatch func(BatchStats)
}

// Traffic is what Config.Traffic needs. Due says that an interactive batch
// of this batcher is to run in wait. Room says how much bulk compute may
// start now: hold > 0 when none may (for how long); otherwise room, the
// time left before the next interactive batch is due, or room < 0 when
// none is.
type Traffic interface {
	Due(wait time.Duration)
	Room() (room, hold time.Duration)
}

// effective returns cfg with defaults filled in, or an error naming the
// first bad field.
func (cfg Config[R]) effective() (Config[R], error) {
	bad := func(format string, args ...any) (Config[R], error) {
		return cfg, fmt.Errorf("batcher: "+format, args...)
	}
	switch {
	case int(cfg.Mode) >= len(modes):
		return bad("unknown mode %v (have %s)", cfg.Mode, strings.Join(ModeNames(), ", "))
	case cfg.MaxBatch < 0:
		return bad("MaxBatch %d is negative", cfg.MaxBatch)
	case cfg.MaxQueueDelay < 0:
		return bad("MaxQueueDelay %v is negative", cfg.MaxQueueDelay)
	case cfg.QueueSize < 0 || cfg.QueueSize > maxCapacity:
		return bad("QueueSize %d is not in [0, %d]", cfg.QueueSize, maxCapacity)
	case cfg.BulkShare < 0 || cfg.BulkShare > 1:
		return bad("BulkShare %v is not in [0, 1]", cfg.BulkShare)
	case cfg.LatencyTarget < 0:
		return bad("LatencyTarget %v is negative", cfg.LatencyTarget)
	case cfg.OnDrop == nil:
		return bad("OnDrop is required: dropped requests must reach their callers")
	}
	if cfg.MaxBatch <= 1 {
		cfg.Mode = ModeOff
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.LatencyTarget == 0 {
		cfg.LatencyTarget = DefaultLatencyTarget
	}
	if cfg.Mode == ModeOff {
		cfg.Preferred = nil
		return cfg, nil
	}
	for _, p := range cfg.Preferred {
		if p < 1 || p > cfg.MaxBatch {
			return bad("preferred size %d is not in [1, MaxBatch=%d]", p, cfg.MaxBatch)
		}
	}
	cfg.Preferred = slices.Compact(slices.Sorted(slices.Values(cfg.Preferred)))
	return cfg, nil
}

// ringCapacity is the smallest power of two holding n.
func ringCapacity(n int) int {
	c := 1
	for c < n {
		c <<= 1
	}
	return c
}
