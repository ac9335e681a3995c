// Package batcher sits between request handlers and model workers. It owns
// the queueing of inference requests, batch formation, the adaptive batching
// policy and per-batch statistics; it never interprets what a model means
// and never touches the wire format (that is the job of the server and
// backend packages).
//
// What exists today is the queue: [Ring], a bounded, lock-free,
// multi-producer ring buffer with sequence-numbered slots, non-blocking
// [Ring.TryPush] and [Ring.PopBatch], and a parking [Ring.PopBatchWait] for
// idle consumers. [Queue] is the small interface the ring satisfies; the
// benchmarks run the ring and two baselines (a buffered channel and a
// mutex-protected slice) through it. See LOCKS.md for the concurrency
// protocol.
//
// Coming next: batch formation (size/deadline triggers) and the adaptive
// policy on top of the ring, with per-batch stats.
package batcher
