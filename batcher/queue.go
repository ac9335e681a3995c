package batcher

import (
	"context"
	"errors"
)

// ErrQueueFull is returned by TryPush when the queue has no free slot. It is
// returned at once; the caller decides whether to retry, shed or back off.
var ErrQueueFull = errors.New("queue is full")

// ErrClosed is returned by TryPush after Close, and by PopBatchWait once the
// queue is closed and everything pushed before Close has been drained.
var ErrClosed = errors.New("queue is closed")

// Queue is the small contract the batch former consumes. [Ring] implements
// it; the benchmarks also run a channel and a mutex baseline through it.
type Queue[T any] interface {
	// TryPush enqueues v without blocking. It returns ErrQueueFull when
	// there is no room and ErrClosed after Close.
	TryPush(v T) error
	// PopBatch appends up to max items to dst without blocking and
	// returns the extended slice (dst unchanged when empty).
	PopBatch(dst []T, max int) []T
	// PopBatchWait is PopBatch that waits until at least one item is
	// available. It returns ctx.Err() when ctx is done and ErrClosed once
	// the queue is closed and drained.
	PopBatchWait(ctx context.Context, dst []T, max int) ([]T, error)
	// Len is the approximate number of queued items.
	Len() int
	// Cap is the maximum number of queued items.
	Cap() int
	// Close stops further pushes and wakes waiting consumers. Items
	// already pushed can still be popped. Close is idempotent.
	Close()
}

var _ Queue[int] = (*Ring[int])(nil)
