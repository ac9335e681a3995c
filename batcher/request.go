package batcher

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrUnknownGroup is returned by Next for a group the batcher was not
// created with.
var ErrUnknownGroup = errors.New("batcher: unknown device group")

// ErrNoRows is returned by Submit for a request with fewer than one row.
var ErrNoRows = errors.New("batcher: request has no rows")

// Request is what the batcher batches. It is opaque except for these
// methods, which the batcher calls from Submit (Rows, Key, Priority,
// Context) and from a worker's Next (Context, to see whether the caller is
// still waiting). They must be safe to call from any goroutine and must
// return the same values every time.
type Request interface {
	// Rows is the number of items on the batch axis: a request whose
	// batch dimension is k counts k. It must be at least 1.
	Rows() int
	// Key identifies what may share a batch: a hash of the non-batch
	// dimensions and the data types. Only requests with equal keys are
	// put in one batch.
	Key() uint64
	// Context carries the request's deadline and cancellation. A request
	// whose context is done is dropped before it reaches a batch and
	// reported through Config.OnDrop. A nil context never expires.
	Context() context.Context
	// Priority orders requests: Interactive before Bulk.
	Priority() Priority
}

// Priority is a request's scheduling class.
type Priority uint8

const (
	// Interactive requests are batched first; bulk requests only fill the
	// space they leave.
	Interactive Priority = iota
	// Bulk requests never delay interactive ones by more than the batch
	// already in flight. Values above Bulk are treated as Bulk.
	Bulk
)

func (p Priority) String() string {
	if p == Interactive {
		return "interactive"
	}
	return "bulk"
}

// Part is the slice of a request that went into one batch: rows
// [Offset, Offset+Rows) of Req's batch axis. A request larger than the
// space left in a batch is split, so one request may appear in several
// batches, each time with a different Offset; the parts of a request are
// handed out in offset order and together cover its rows exactly once
// (unless the request is dropped, see Config.OnDrop).
type Part[R Request] struct {
	Req    R
	Offset int
	Rows   int
}

// Batch is what a worker runs: parts of requests with equal Key, to be
// concatenated along the batch axis in order.
type Batch[R Request] struct {
	Parts      []Part[R]
	Rows       int           // sum of Parts[i].Rows
	Reason     Reason        // why it was dispatched now
	OldestWait time.Duration // queue delay of its oldest item when dispatched
	Group      string        // the device group whose worker asked for it
}

// BulkOnly reports whether every part of the batch is from a bulk request.
func (b Batch[R]) BulkOnly() bool {
	for _, p := range b.Parts {
		if p.Req.Priority() == Interactive {
			return false
		}
	}
	return len(b.Parts) > 0
}

// Reason says why a batch was dispatched.
type Reason uint8

const (
	ReasonFull      Reason = iota // it reached MaxBatch items
	ReasonPreferred               // it reached a preferred size and nothing more was waiting
	ReasonWindow                  // the window since its oldest item's arrival expired
	ReasonAdaptive                // it reached the adaptive policy's target size
	ReasonDrain                   // the batcher is closed: what is queued leaves at once
	ReasonUnbatched               // batching is off: one request, at once
	numReasons
)

var reasonNames = [numReasons]string{"full", "preferred", "window", "adaptive", "drain", "unbatched"}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// MarshalText lets a map keyed by Reason encode with readable keys.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// ErrQuit is returned by NextUntil when its quit channel closed first.
var ErrQuit = errors.New("batcher: caller stopped waiting")
