package batcher

import "errors"

// ErrQueueFull is returned by TryPush when the queue has no free slot. It is
// returned at once; the caller decides whether to retry, shed or back off.
var ErrQueueFull = errors.New("queue is full")

// ErrClosed is returned by TryPush after Close, and by Next once the
// batcher is closed and everything submitted before Close has been handed
// out.
var ErrClosed = errors.New("queue is closed")
