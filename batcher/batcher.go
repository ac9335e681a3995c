package batcher

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Batcher queues the requests of one model version and forms them into
// batches for the workers of one or more device groups. See doc.go for
// how the runtime drives it and LOCKS.md for who owns what.
type Batcher[R Request] struct {
	// Read-only after New.
	cfg    Config[R]
	epoch  time.Time          // zero of the batcher's clock (monotonic)
	rings  [2]*Ring[entry[R]] // by Priority: producers' side, lock-free
	groups []*group           // in the order given to New
	done   chan struct{}      // closed by Close
	rec    *recorder          // per-batch stats, its own mutex
	once   sync.Once          // Close
	closed atomic.Bool        // set by Close, after the rings are closed
	_      [cacheLine]byte    // keep the counters below off the read-only line
	queued atomic.Int64       // requests held: admission control against QueueSize
	rows   atomic.Int64       // rows of those requests not yet handed out
	counts [numCounters]atomic.Uint64

	mu         sync.Mutex  // protects: pending, rowsByKey, meter, lastSweep, lastInteractive, spareParts, every group's pol and share
	pending    [2]fifo[R]  // by Priority: requests pulled from the rings, in arrival order
	spareParts [][]Part[R] // finished batches' Parts, for the next batches (form.go)
	rowsByKey  map[uint64]int
	meter      rateMeter
	lastSweep  int64
	// lastInteractive is when the last interactive request was pulled
	// (share.go).
	lastInteractive int64
}

// Indexes into Batcher.counts.
const (
	cSubmitted = iota
	cRejected
	cDropped
	cDispatched
	cDone
	numCounters
)

// group is one device group's worker coordination. Exactly one idle
// worker of a group, the one holding the turn token, looks at the queue
// and waits out windows; the others wait for the token.
type group struct {
	name    string
	shared  bool          // named in Config.SharedCores: its instances run on the front end's cores
	pol     policy        // guarded by Batcher.mu
	share   shareGate     // guarded by Batcher.mu
	turn    chan struct{} // 1-buffered; its token makes a worker the group's leader
	wake    chan struct{} // 1-buffered; a token means "look again"
	waiting atomic.Bool   // the leader is parked or about to park
	timer   *time.Timer   // used only by the leader
}

// New returns a batcher for the given device groups (at least one, e.g.
// "cpu", "gpu"); each group gets its own policy.
func New[R Request](cfg Config[R], groups ...string) (*Batcher[R], error) {
	cfg, err := cfg.effective()
	if err != nil {
		return nil, err
	}
	if len(groups) == 0 {
		return nil, errors.New("batcher: no device group")
	}
	b := &Batcher[R]{
		cfg:       cfg,
		epoch:     time.Now(),
		done:      make(chan struct{}),
		rec:       newRecorder(max(cfg.MaxBatch, 64)),
		rowsByKey: make(map[uint64]int),
		meter:     rateMeter{tau: 0.5},
		// interactive traffic starts idle
		lastInteractive: math.MinInt64 / 2,
	}
	for i := range b.rings {
		if b.rings[i], err = NewRing[entry[R]](ringCapacity(cfg.QueueSize)); err != nil {
			return nil, err
		}
	}
	for i, name := range groups {
		if name == "" || slices.Contains(groups[:i], name) {
			return nil, fmt.Errorf("batcher: group name %q is empty or repeated", name)
		}
		g := &group{name: name, shared: slices.Contains(cfg.SharedCores, name), pol: newPolicy(cfg, name), turn: make(chan struct{}, 1),
			wake: make(chan struct{}, 1), timer: time.NewTimer(time.Hour)}
		g.timer.Stop()
		g.turn <- struct{}{}
		b.groups = append(b.groups, g)
	}
	return b, nil
}

// now is the batcher's clock: monotonic nanoseconds since New.
func (b *Batcher[R]) now() int64 { return int64(time.Since(b.epoch)) }

// Submit queues r. It never blocks. It returns ErrNoRows, the cause of
// r's context if that is already done, ErrQueueFull when QueueSize
// requests are held, or ErrClosed after Close; on error the batcher keeps
// nothing. On success every row of r is handed out exactly once in some
// batch's Parts, or OnDrop is called for r once. Safe from any goroutine.
func (b *Batcher[R]) Submit(r R) error {
	rows := r.Rows()
	if rows < 1 {
		return ErrNoRows
	}
	e := entry[R]{req: r, key: r.Key(), rows: rows}
	if ctx := r.Context(); ctx != nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if b.closed.Load() {
		return ErrClosed
	}
	if b.queued.Add(1) > int64(b.cfg.QueueSize) {
		b.queued.Add(-1)
		b.counts[cRejected].Add(1)
		return ErrQueueFull
	}
	b.rows.Add(int64(rows))
	e.at = b.now()
	if err := b.rings[prioIndex(r.Priority())].TryPush(e); err != nil {
		b.queued.Add(-1) // ErrClosed; ErrQueueFull cannot happen (ring >= QueueSize)
		b.rows.Add(-int64(rows))
		return err
	}
	b.counts[cSubmitted].Add(1)
	b.nudge(nil)
	return nil
}

func prioIndex(p Priority) int {
	if p == Interactive {
		return 0
	}
	return 1
}

// nudge wakes the parked leader of every group but skip. A leader sets
// waiting before its last look at the rings, and a producer loads it
// after publishing, so an arrival is never missed (see LOCKS.md).
func (b *Batcher[R]) nudge(skip *group) {
	for _, g := range b.groups {
		if g != skip && g.waiting.Load() {
			select {
			case g.wake <- struct{}{}:
			default:
			}
		}
	}
}

// Next blocks until the batcher has a batch for a worker of group and
// returns it. The worker must run it and call Done once. Next returns
// ctx's error when ctx is done first, ErrUnknownGroup, or ErrClosed once
// the batcher is closed and everything queued has been handed out. Call it
// from each worker of the group in a loop; any number may wait at once.
func (b *Batcher[R]) Next(ctx context.Context, group string) (Batch[R], error) {
	return b.NextUntil(ctx, group, nil)
}

// NextUntil is Next for a caller that stops waiting when quit closes: it
// then returns ErrQuit, holding nothing. A request goroutine that runs
// batches itself passes its own request's completion, so it stops leading
// the group once its answer is in (runtime/LOCKS.md, "Lent instances"). A
// nil quit never closes.
func (b *Batcher[R]) NextUntil(ctx context.Context, group string, quit <-chan struct{}) (Batch[R], error) {
	g := b.lookup(group)
	if g == nil {
		return Batch[R]{}, fmt.Errorf("%w %q", ErrUnknownGroup, group)
	}
	select {
	case <-g.turn:
	case <-ctx.Done():
		return Batch[R]{}, ctx.Err()
	case <-quit:
		return Batch[R]{}, ErrQuit
	}
	defer b.release(g)
	var drops []dropped[R]
	for {
		if err := ctx.Err(); err != nil {
			return Batch[R]{}, err
		}
		batch, out, wait := b.step(g, &drops)
		b.report(drops)
		drops = drops[:0]
		switch out {
		case gotBatch:
			b.counts[cDispatched].Add(1)
			return batch, nil
		case drained:
			return Batch[R]{}, ErrClosed
		case yield:
			runtime.Gosched()
		case park:
			if err := b.park(ctx, g, wait, quit); err != nil {
				return Batch[R]{}, err
			}
		}
	}
}

func (b *Batcher[R]) lookup(name string) *group {
	for _, g := range b.groups {
		if g.name == name {
			return g
		}
	}
	return nil
}

// release hands the group's turn to its next idle worker and nudges the
// other groups, whose leaders may be waiting on items this one left.
func (b *Batcher[R]) release(g *group) {
	g.turn <- struct{}{}
	b.nudge(g)
}

// park waits for an arrival, a nudge, wait (when > 0), Close, ctx or quit.
func (b *Batcher[R]) park(ctx context.Context, g *group, wait time.Duration, quit <-chan struct{}) error {
	g.waiting.Store(true)
	defer g.waiting.Store(false)
	if b.rings[0].headReady() || b.rings[1].headReady() {
		return nil // arrived between the step and waiting.Store
	}
	var timeout <-chan time.Time
	if wait > 0 {
		g.timer.Reset(wait)
		defer g.timer.Stop()
		timeout = g.timer.C
	}
	select {
	case <-g.wake:
	case <-timeout:
	case <-b.done:
	case <-ctx.Done():
		return ctx.Err()
	case <-quit:
		return ErrQuit
	}
	return nil
}

// Sweep drops every queued request whose context is done, at once and
// without a group's turn. A caller that stops waiting for its request
// (its context ended) calls it, so the request leaves the queue even when
// no worker is looking (a lent instance's borrower was the only one).
func (b *Batcher[R]) Sweep() {
	var drops []dropped[R]
	b.mu.Lock()
	b.pull()
	b.sweep(&drops)
	b.lastSweep = b.now()
	b.mu.Unlock()
	b.report(drops)
}

// report tells the runtime about dropped requests, outside the locks.
func (b *Batcher[R]) report(drops []dropped[R]) {
	for _, d := range drops {
		b.counts[cDropped].Add(1)
		b.cfg.OnDrop(d.req, d.err)
	}
}

// Done reports that a batch from Next has run (or failed) and how long
// its compute took. Call it exactly once per batch, from any goroutine,
// after the last use of batch.Parts: the batcher reuses that slice. It
// feeds the group's policy and the stats, then calls OnBatch.
func (b *Batcher[R]) Done(batch Batch[R], compute time.Duration) {
	s := BatchStats{Group: batch.Group, Rows: batch.Rows, Parts: len(batch.Parts),
		Reason: batch.Reason, OldestWait: batch.OldestWait, Compute: compute}
	bulk := bulkRows(batch.Parts)
	b.mu.Lock()
	if g := b.lookup(batch.Group); g != nil {
		g.pol.observe(batch.Rows, batch.OldestWait, compute)
		g.share.done(b.now(), compute, bulk, batch.Rows)
	}
	b.keepParts(batch.Parts)
	b.mu.Unlock()
	b.counts[cDone].Add(1)
	b.rec.record(s)
	if b.cfg.OnBatch != nil {
		b.cfg.OnBatch(s)
	}
}

// Close stops Submit (ErrClosed) and makes Next hand out everything
// queued at once (ReasonDrain), then return ErrClosed. Idempotent.
func (b *Batcher[R]) Close() {
	b.once.Do(func() {
		b.rings[0].Close()
		b.rings[1].Close()
		b.closed.Store(true)
		close(b.done)
	})
}

// Stats returns a snapshot of the counters, histograms, queue depth and
// each group's current window and target.
func (b *Batcher[R]) Stats() Stats {
	done := b.counts[cDone].Load() // before cDispatched: every Done follows its dispatch
	s := Stats{
		Submitted:  b.counts[cSubmitted].Load(),
		Rejected:   b.counts[cRejected].Load(),
		Dropped:    b.counts[cDropped].Load(),
		QueueDepth: int(b.queued.Load()),
		QueueRows:  int(b.rows.Load()),
		InFlight:   int(b.counts[cDispatched].Load() - done),
	}
	b.rec.fill(&s)
	b.mu.Lock()
	defer b.mu.Unlock()
	s.ArrivalRate = b.meter.perSec(b.now())
	for _, g := range b.groups {
		gs := g.pol.snapshot()
		gs.Name, gs.BulkShare = g.name, g.share.got(b.now())
		s.Groups = append(s.Groups, gs)
	}
	return s
}
