package batcher

import (
	"context"
	"time"
)

// sweepEvery bounds how long a request whose context is done sits in the
// queue unnoticed: while anything is queued the leader looks at least this
// often, and then checks every queued request's context.
const sweepEvery = 5 * time.Millisecond

// entry is a submitted request and its progress. It travels through the
// ring by value and then lives in a fifo, owned by whoever holds mu.
type entry[R Request] struct {
	req  R
	key  uint64
	at   int64 // arrival, on the batcher's clock
	rows int   // total rows
	off  int   // rows already handed out; rows [off, rows) are left
}

func (e *entry[R]) left() int { return e.rows - e.off }

// fifo holds one priority's pulled requests in arrival order. Requests
// leave from anywhere (another key's batch, a drop), so removal filters
// in place; the backing array is reused.
type fifo[R Request] struct{ q []entry[R] }

func (f *fifo[R]) popFront() {
	copy(f.q, f.q[1:])
	f.q[len(f.q)-1] = entry[R]{}
	f.q = f.q[:len(f.q)-1]
}

// dropped is a request to report through OnDrop once mu is released.
type dropped[R Request] struct {
	req R
	err error
}

// outcome is what one step tells the leader to do.
type outcome uint8

const (
	park     outcome = iota // wait for an arrival, or the returned wait
	yield                   // closed, but a push is still being published
	gotBatch                // return the batch
	drained                 // closed and everything handed out
)

// step is one look at the queue by a group's leader: pull new arrivals,
// drop requests whose context is done, then either form a batch or say how
// long to wait. Dropped requests are appended to drops for the caller to
// report after mu is released.
func (b *Batcher[R]) step(g *group, drops *[]dropped[R]) (Batch[R], outcome, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pull()
	now := b.now()
	if now-b.lastSweep >= int64(sweepEvery) {
		b.sweep(drops)
		b.lastSweep = now
	}
	for {
		key, d, wait := b.choose(g, now, drops)
		switch {
		case len(b.pending[0].q)+len(b.pending[1].q) == 0:
			return Batch[R]{}, b.idle(), 0
		case !d.dispatch:
			return Batch[R]{}, park, wait
		}
		if batch := b.form(g, d, key, now, drops); len(batch.Parts) > 0 {
			g.share.dispatched()
			if bulkRows(batch.Parts) > 0 {
				g.share.lastBulk = now
			}
			return batch, gotBatch, 0
		}
		// Every candidate died between choose and form: look again.
	}
}

// choose picks the key of the next batch, in this order: the interactive
// head's batch if the policy says it is ready; a full batch of another
// interactive request's key (so a head still filling does not block
// ready work, and is delayed by one batch at most); then the same two for
// bulk. Otherwise it returns the shortest wait any policy asked for,
// capped at sweepEvery.
func (b *Batcher[R]) choose(g *group, now int64, drops *[]dropped[R]) (uint64, decision, time.Duration) {
	wait := sweepEvery
	for prio := range b.pending {
		head := b.head(prio, drops)
		if head == nil {
			continue
		}
		if prio == 1 && !b.closed.Load() {
			if hold := b.bulkGate(g, now, head); hold > 0 { // bulk is over its share, or in interactive work's way (share.go)
				return 0, decision{}, min(wait, hold)
			}
		}
		d := b.decide(g, prio, head, now)
		if d.dispatch {
			return head.key, d, 0
		}
		if prio == 0 && b.cfg.Traffic != nil {
			b.cfg.Traffic.Due(d.wait) // bulk elsewhere keeps clear of it
		}
		wait = min(wait, d.wait)
		if key, ok := b.fullKey(prio); ok {
			return key, decision{dispatch: true, reason: ReasonFull, size: b.cfg.MaxBatch}, 0
		}
	}
	return 0, decision{}, wait
}

// fullKey returns the key of the oldest request of priority prio whose key
// has at least MaxBatch rows waiting.
func (b *Batcher[R]) fullKey(prio int) (uint64, bool) {
	some := false
	for _, n := range b.rowsByKey {
		if n >= b.cfg.MaxBatch {
			some = true
			break
		}
	}
	if !some {
		return 0, false
	}
	for i := range b.pending[prio].q {
		if e := &b.pending[prio].q[i]; b.rowsByKey[e.key] >= b.cfg.MaxBatch {
			return e.key, true
		}
	}
	return 0, false
}

// pull moves everything published in the rings into the fifos.
func (b *Batcher[R]) pull() {
	for i, r := range b.rings {
		f := &b.pending[i]
		n := len(f.q)
		f.q = r.PopBatch(f.q, r.Cap())
		if i == 0 && len(f.q) > n {
			b.lastInteractive = f.q[len(f.q)-1].at
		}
		for _, e := range f.q[n:] {
			b.meter.add(e.at, e.rows)
			b.rowsByKey[e.key] += e.rows
		}
	}
}

// head returns the oldest live request of priority prio, dropping dead
// ones it meets at the front; nil when there is none.
func (b *Batcher[R]) head(prio int, drops *[]dropped[R]) *entry[R] {
	f := &b.pending[prio]
	for len(f.q) > 0 {
		err := ctxErr(f.q[0].req)
		if err == nil {
			return &f.q[0]
		}
		b.drop(&f.q[0], err, drops)
		f.popFront()
	}
	return nil
}

// idle is the outcome when nothing is queued.
func (b *Batcher[R]) idle() outcome {
	switch {
	case !b.closed.Load():
		return park
	case b.rings[0].closedAndDrained() && b.rings[1].closedAndDrained():
		return drained
	default:
		return yield
	}
}

// decide asks the group's policy about the batch for head, unless the
// batcher is closed: then everything leaves at once.
func (b *Batcher[R]) decide(g *group, prio int, head *entry[R], now int64) decision {
	if b.closed.Load() {
		return decision{dispatch: true, reason: ReasonDrain, size: b.cfg.MaxBatch}
	}
	return g.pol.decide(state{
		now:      time.Duration(now),
		oldest:   time.Duration(now - head.at),
		items:    b.rowsByKey[head.key],
		bulkOnly: prio == 1,
		rate:     b.meter.perSec(now),
		clumped:  b.meter.clumped(),
	})
}

// taker accumulates a batch while form walks the fifos.
type taker[R Request] struct {
	key    uint64
	space  int  // rows still to take
	whole  bool // ModeOff: the first request, all of it, alone
	oldest int64
	parts  []Part[R]
}

// form takes up to d.size rows of requests with key: interactive ones in
// arrival order first, then bulk ones. A request with more rows than the
// space left gives a part and stays queued, at its place, for the rest.
func (b *Batcher[R]) form(g *group, d decision, key uint64, now int64, drops *[]dropped[R]) Batch[R] {
	t := taker[R]{key: key, space: min(d.size, b.cfg.MaxBatch), oldest: now}
	if b.cfg.Mode == ModeOff {
		t.space, t.whole = 1, true
	}
	t.parts = b.partsBuf(min(t.space, 32))
	for i := range b.pending {
		if i == 1 && !b.closed.Load() && b.bulkGate(g, now, nil) > 0 {
			break // bulk is over its share: it does not ride along either
		}
		b.takeFrom(&b.pending[i], &t, drops)
	}
	batch := Batch[R]{Parts: t.parts, Reason: d.reason, Group: g.name,
		OldestWait: time.Duration(max(now-t.oldest, 0))}
	for _, p := range t.parts {
		batch.Rows += p.Rows
	}
	return batch
}

// takeFrom fills t from f and removes the requests it finished or found
// dead, keeping the others in order.
func (b *Batcher[R]) takeFrom(f *fifo[R], t *taker[R], drops *[]dropped[R]) {
	w := 0
	for i := range f.q {
		if t.space == 0 && w == i {
			return // nothing removed so far: the rest stays as it is
		}
		if e := &f.q[i]; t.space > 0 && e.key == t.key {
			if err := ctxErr(e.req); err != nil {
				b.drop(e, err, drops)
				continue
			}
			n := min(e.left(), t.space)
			if t.whole {
				n = e.left()
			}
			t.parts = append(t.parts, Part[R]{Req: e.req, Offset: e.off, Rows: n})
			t.space = max(t.space-n, 0)
			t.oldest = min(t.oldest, e.at)
			e.off += n
			b.handOut(e.key, n)
			if e.left() == 0 {
				b.queued.Add(-1)
				continue
			}
		}
		f.q[w] = f.q[i]
		w++
	}
	clear(f.q[w:])
	f.q = f.q[:w]
}

// sweep drops every queued request whose context is done.
func (b *Batcher[R]) sweep(drops *[]dropped[R]) {
	for i := range b.pending {
		f := &b.pending[i]
		w := 0
		for j := range f.q {
			if err := ctxErr(f.q[j].req); err != nil {
				b.drop(&f.q[j], err, drops)
				continue
			}
			f.q[w] = f.q[j]
			w++
		}
		clear(f.q[w:])
		f.q = f.q[:w]
	}
}

// handOut accounts for n rows of a request with key leaving the queue.
func (b *Batcher[R]) handOut(key uint64, n int) {
	if b.rowsByKey[key] -= n; b.rowsByKey[key] <= 0 {
		delete(b.rowsByKey, key)
	}
	b.rows.Add(-int64(n))
}

// drop removes what is left of e from the accounting and queues the
// report; the caller removes e from its fifo.
func (b *Batcher[R]) drop(e *entry[R], err error, drops *[]dropped[R]) {
	b.handOut(e.key, e.left())
	b.queued.Add(-1)
	*drops = append(*drops, dropped[R]{req: e.req, err: err})
}

// ctxErr is the cause of r's context when it is done, else nil.
func ctxErr[R Request](r R) error {
	ctx := r.Context()
	if ctx == nil || ctx.Err() == nil {
		return nil
	}
	return context.Cause(ctx)
}

// maxSpareParts bounds the Parts slices kept for reuse: one per batch that
// can be in flight at once is plenty.
const maxSpareParts = 16

// partsBuf returns an empty Parts slice with room for n, reusing one that a
// Done gave back. Call under mu.
func (b *Batcher[R]) partsBuf(n int) []Part[R] {
	if k := len(b.spareParts); k > 0 {
		p := b.spareParts[k-1]
		b.spareParts[k-1] = nil
		b.spareParts = b.spareParts[:k-1]
		if cap(p) >= n {
			return p
		}
	}
	return make([]Part[R], 0, n)
}

// keepParts takes back a finished batch's Parts for reuse, cleared so the
// requests they held can be collected. Call under mu.
func (b *Batcher[R]) keepParts(p []Part[R]) {
	if cap(p) == 0 || len(b.spareParts) >= maxSpareParts {
		return
	}
	clear(p)
	b.spareParts = append(b.spareParts, p[:0])
}
