package batcher

import (
	"fmt"
	"sync/atomic"
)

const (
	// cacheLine is the padding unit for hot cursors. 128 bytes rather than
	// 64 so that the adjacent-line prefetcher on x86 does not pair two hot
	// cursors into one 128-byte sector.
	cacheLine = 128

	// closedBit is bit 63 of the tail cursor. Setting it closes the ring:
	// a producer's claim is a CAS on the whole word, so no claim can
	// succeed after Close (see LOCKS.md).
	closedBit = uint64(1) << 63

	// maxCapacity keeps positions far from closedBit for any realistic
	// run time (2^62 pushes).
	maxCapacity = 1 << 30
)

// cursor is a 64-bit position alone on its own cache-line pair.
type cursor struct {
	v atomic.Uint64
	_ [cacheLine - 8]byte
}

// slot holds one item and its sequence number. For slot index i the
// sequence moves i -> i+1 (published at position i) -> i+cap (consumed,
// free for position i+cap) -> i+cap+1 -> ...
type slot[T any] struct {
	seq atomic.Uint64
	val T
}

// Ring is a bounded, lock-free multi-producer multi-consumer queue in the
// style of Dmitry Vyukov's bounded MPMC queue: every slot carries an atomic
// sequence number, producers claim positions by CAS on the tail cursor and
// consumers claim runs of positions by CAS on the head cursor.
//
// Ownership and concurrency:
//   - TryPush may be called from any number of goroutines at once.
//   - PopBatch may be called from any number of goroutines at once; the
//     batcher calls it only under its mutex. Items popped by one consumer
//     are never seen by another.
//   - Cap and Close are safe from any goroutine at any time.
//   - The tail cursor is written only by producers (and by Close, which
//     sets closedBit); the head cursor only by consumers. A slot's value
//     is owned by the goroutine that claimed its position until that
//     goroutine stores the next sequence number.
//
// The ring holds no locks and allocates nothing after NewRing, except
// when PopBatch has to grow dst. It never blocks: waiting for items is the
// batcher's business (its leaders park on their group's wake channel; see
// LOCKS.md).
type Ring[T any] struct {
	// Read-only after NewRing.
	mask  uint64
	slots []slot[T]

	// closed mirrors closedBit for consumers, so that a leader checking
	// for the end reads this read-mostly line, not the producers' tail line.
	closed atomic.Bool

	_    [cacheLine]byte
	tail cursor // next position to claim for a push; bit 63 = closed
	head cursor // next position to claim for a pop
}

// NewRing returns an empty ring holding up to capacity items. capacity
// must be a power of two between 1 and 2^30.
func NewRing[T any](capacity int) (*Ring[T], error) {
	if capacity <= 0 || capacity&(capacity-1) != 0 || capacity > maxCapacity {
		return nil, fmt.Errorf("batcher: ring capacity %d is not a power of two in [1, %d]", capacity, maxCapacity)
	}
	r := &Ring[T]{mask: uint64(capacity - 1), slots: make([]slot[T], capacity)}
	for i := range r.slots {
		r.slots[i].seq.Store(uint64(i))
	}
	return r, nil
}

// TryPush enqueues v. It never blocks: it returns ErrQueueFull at once if
// the ring is full and ErrClosed after Close. Safe for many producers.
func (r *Ring[T]) TryPush(v T) error {
	for {
		pos := r.tail.v.Load()
		if pos&closedBit != 0 {
			return ErrClosed
		}
		s := &r.slots[pos&r.mask]
		switch d := int64(s.seq.Load() - pos); {
		case d == 0: // slot free for this lap: try to claim pos
			if !r.tail.v.CompareAndSwap(pos, pos+1) {
				continue
			}
			s.val = v
			s.seq.Store(pos + 1) // publish
			return nil
		case d < 0: // slot still holds the item from the previous lap
			return ErrQueueFull
		default: // another producer claimed pos; reload tail
		}
	}
}

// PopBatch appends up to max items to dst, in ring order, and returns the
// extended slice. It never blocks and returns dst unchanged when the ring
// is empty. Each popped slot's value is zeroed so the ring keeps no
// references. Safe for many consumers.
func (r *Ring[T]) PopBatch(dst []T, max int) []T {
	if max > len(r.slots) {
		max = len(r.slots)
	}
	for max > 0 {
		h := r.head.v.Load()
		n := r.readyRun(h, max)
		if n == 0 {
			if r.head.v.Load() == h {
				return dst // genuinely empty at h
			}
			continue // another consumer moved head; retry
		}
		if r.head.v.CompareAndSwap(h, h+uint64(n)) {
			return r.take(dst, h, n)
		}
	}
	return dst
}

// readyRun counts how many consecutive positions from h, up to max, are
// published.
func (r *Ring[T]) readyRun(h uint64, max int) int {
	n := 0
	for ; n < max; n++ {
		pos := h + uint64(n)
		if r.slots[pos&r.mask].seq.Load() != pos+1 {
			break
		}
	}
	return n
}

// take copies out the n positions from h that the caller has claimed,
// zeroes them and hands each slot back to producers for the next lap.
func (r *Ring[T]) take(dst []T, h uint64, n int) []T {
	var zero T
	lap := uint64(len(r.slots))
	for i := 0; i < n; i++ {
		pos := h + uint64(i)
		s := &r.slots[pos&r.mask]
		dst = append(dst, s.val)
		s.val = zero
		s.seq.Store(pos + lap) // free for position pos+lap
	}
	return dst
}

// headReady reports whether the item at the head position is published.
func (r *Ring[T]) headReady() bool {
	h := r.head.v.Load()
	return r.slots[h&r.mask].seq.Load() == h+1
}

// closedAndDrained reports whether Close was called and every claimed
// position has been popped.
func (r *Ring[T]) closedAndDrained() bool {
	if !r.closed.Load() {
		return false
	}
	return r.head.v.Load() == r.tail.v.Load()&^closedBit
}

// Close makes further pushes fail with ErrClosed. Items pushed before
// Close can still be popped. Idempotent and safe from any goroutine.
func (r *Ring[T]) Close() {
	r.tail.v.Or(closedBit)
	r.closed.Store(true)
}

// Cap returns the ring's capacity.
func (r *Ring[T]) Cap() int { return len(r.slots) }
