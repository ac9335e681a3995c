package runtime

import (
	"context"
	"errors"
	"fmt"
)

// Kind classifies an error for the wire. Exactly one place, the transport
// package, maps kinds to HTTP status codes and gRPC codes.
type Kind uint8

const (
	KindInternal            Kind = iota // a bug or a backend failure
	KindInvalidArgument                 // the request is malformed or does not fit the model
	KindNotFound                        // no such model or version
	KindResourceExhausted               // a queue is full or a limit is hit
	KindDeadlineExceeded                // the request waited or ran past its timeout
	KindUnavailable                     // the model or server is not ready
	KindCancelled                       // the client went away
	KindPermissionDenied                // the operation is switched off, or the caller may not do it
	KindUnauthenticated                 // the operation needs credentials the caller did not give
	KindConflict                        // the target's state does not allow the operation (a job not finished)
	KindTooLarge                        // a body or upload is over its size limit
	KindRequestTimeout                  // the client took too long to send its request
	KindHeaderTooLarge                  // the request line and headers are over their buffer
	KindUnimplemented                   // a protocol extension this server does not have (shared memory)
	KindMethodNotAllowed                // an HTTP route asked for with a method it does not take
	KindInsufficientStorage             // the server's disk is full (a job's upload)
	numKinds
)

var kindNames = [...]string{
	KindInternal:            "internal",
	KindInvalidArgument:     "invalid argument",
	KindNotFound:            "not found",
	KindResourceExhausted:   "resource exhausted",
	KindDeadlineExceeded:    "deadline exceeded",
	KindUnavailable:         "unavailable",
	KindCancelled:           "cancelled",
	KindPermissionDenied:    "permission denied",
	KindUnauthenticated:     "unauthenticated",
	KindConflict:            "conflict",
	KindTooLarge:            "too large",
	KindRequestTimeout:      "request timeout",
	KindHeaderTooLarge:      "header too large",
	KindUnimplemented:       "unimplemented",
	KindMethodNotAllowed:    "method not allowed",
	KindInsufficientStorage: "insufficient storage",
}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Kinds lists every kind, for tests that must cover each one.
func Kinds() []Kind {
	out := make([]Kind, numKinds)
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}

// Error is an error with a Kind. Its message is written for the user and
// is the whole message: a cause in Err is already part of it, so it is
// printed once. The kind travels separately as a status code.
type Error struct {
	Kind Kind
	Msg  string
	Err  error // the cause, if any

	whole bool // Msg already ends with the cause's message (Errorf with %w)
}

func (e *Error) Error() string {
	if e.Err != nil && !e.whole {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an Error of the given kind. A %w verb in format sets the
// cause; its text appears where the verb is, once.
func Errorf(kind Kind, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: kind, Msg: err.Error(), Err: errors.Unwrap(err), whole: true}
}

// Sentinels for errors.Is checks and wrapping.
var (
	// ErrQueueFull is the cause of every refusal by a full queue; the
	// error returned names the model and the queue's size.
	ErrQueueFull    = &Error{Kind: KindResourceExhausted, Msg: "queue is full"}
	ErrShuttingDown = &Error{Kind: KindUnavailable, Msg: "server is shutting down"}
)

// KindOf finds the kind of any error: the nearest *Error in its chain, the
// context errors, or KindInternal.
func KindOf(err error) Kind {
	var e *Error
	switch {
	case err == nil:
		return KindInternal
	case errors.As(err, &e):
		return e.Kind
	case errors.Is(err, context.DeadlineExceeded):
		return KindDeadlineExceeded
	case errors.Is(err, context.Canceled):
		return KindCancelled
	}
	return KindInternal
}
