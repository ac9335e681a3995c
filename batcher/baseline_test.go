package batcher

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// This file holds the two baselines the ring is benchmarked against. They
// implement Queue with the same semantics as Ring, except where noted.

// chanQueue is a buffered channel. The data channel is never closed (a
// send racing a close would panic), so Close closes done instead. A push
// that races Close may still land after a consumer saw "closed and empty";
// that is acceptable for a baseline and documented here.
type chanQueue[T any] struct {
	ch     chan T
	done   chan struct{}
	closed atomic.Bool
	once   sync.Once
}

var _ Queue[int] = (*chanQueue[int])(nil)

func newChanQueue[T any](capacity int) *chanQueue[T] {
	return &chanQueue[T]{ch: make(chan T, capacity), done: make(chan struct{})}
}

func (q *chanQueue[T]) TryPush(v T) error {
	if q.closed.Load() {
		return ErrClosed
	}
	select {
	case q.ch <- v:
		return nil
	default:
		return ErrQueueFull
	}
}

func (q *chanQueue[T]) PopBatch(dst []T, max int) []T {
	for i := 0; i < max; i++ {
		select {
		case v := <-q.ch:
			dst = append(dst, v)
		default:
			return dst
		}
	}
	return dst
}

func (q *chanQueue[T]) PopBatchWait(ctx context.Context, dst []T, max int) ([]T, error) {
	if max <= 0 {
		return dst, nil
	}
	select {
	case v := <-q.ch:
		return q.PopBatch(append(dst, v), max-1), nil
	case <-ctx.Done():
		return dst, ctx.Err()
	case <-q.done:
	}
	n := len(dst)
	if dst = q.PopBatch(dst, max); len(dst) > n {
		return dst, nil
	}
	return dst, ErrClosed
}

func (q *chanQueue[T]) Len() int { return len(q.ch) }
func (q *chanQueue[T]) Cap() int { return cap(q.ch) }

func (q *chanQueue[T]) Close() {
	q.once.Do(func() {
		q.closed.Store(true)
		close(q.done)
	})
}

// mutexQueue is a mutex-protected circular slice with a 1-buffered notify
// channel, in the spirit of nats-server's ipqueue (which appends to a slice
// and swaps it out; here the slice is preallocated and bounded so pops do
// not allocate).
type mutexQueue[T any] struct {
	mu     sync.Mutex // protects: buf (contents), head, n, closed
	buf    []T        // ring storage; len fixed at construction
	head   int        // index of the oldest item in buf
	n      int        // number of queued items
	closed bool       // set once by Close; close(done) happens under mu

	notify chan struct{} // 1-buffered; a token means "look again"
	done   chan struct{} // closed by Close (under mu, exactly once)
}

var _ Queue[int] = (*mutexQueue[int])(nil)

func newMutexQueue[T any](capacity int) *mutexQueue[T] {
	return &mutexQueue[T]{
		buf:    make([]T, capacity),
		notify: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
}

func (q *mutexQueue[T]) TryPush(v T) error {
	q.mu.Lock()
	switch {
	case q.closed:
		q.mu.Unlock()
		return ErrClosed
	case q.n == len(q.buf):
		q.mu.Unlock()
		return ErrQueueFull
	}
	q.buf[(q.head+q.n)%len(q.buf)] = v
	q.n++
	first := q.n == 1
	q.mu.Unlock()
	if first { // only the empty->non-empty edge needs a wake-up
		q.kick()
	}
	return nil
}

func (q *mutexQueue[T]) PopBatch(dst []T, max int) []T {
	dst, _ = q.pop(dst, max)
	return dst
}

// pop takes up to max items and reports whether items remain.
func (q *mutexQueue[T]) pop(dst []T, max int) ([]T, bool) {
	var zero T
	q.mu.Lock()
	defer q.mu.Unlock()
	for ; max > 0 && q.n > 0; max-- {
		dst = append(dst, q.buf[q.head])
		q.buf[q.head] = zero
		q.head = (q.head + 1) % len(q.buf)
		q.n--
	}
	return dst, q.n > 0
}

func (q *mutexQueue[T]) PopBatchWait(ctx context.Context, dst []T, max int) ([]T, error) {
	if max <= 0 {
		return dst, nil
	}
	for round := 0; ; round++ {
		n := len(dst)
		var more bool
		if dst, more = q.pop(dst, max); len(dst) > n {
			if more {
				q.kick() // pass the wake-up on to another consumer
			}
			return dst, nil
		}
		if q.isClosed() {
			return dst, ErrClosed
		}
		if round < spinRounds {
			runtime.Gosched()
			continue
		}
		select {
		case <-q.notify:
		case <-q.done:
		case <-ctx.Done():
			return dst, ctx.Err()
		}
	}
}

func (q *mutexQueue[T]) kick() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (q *mutexQueue[T]) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

func (q *mutexQueue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

func (q *mutexQueue[T]) Cap() int { return len(q.buf) }

func (q *mutexQueue[T]) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.done)
	}
}
