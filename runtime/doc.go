// Package runtime owns serving: the model repository, the model manager
// (versions and their states), the core inference API every transport shares
// (request and response types, validation of names, datatypes, shapes and
// sizes), and the instance workers, each one goroutine locked to one OS thread
// pinned to its own cores.
//
// It never touches a wire format: transports decode into InferRequest and
// encode InferResponse. Errors carry a Kind that the transport package maps
// to HTTP and gRPC status codes in one place.
//
// Ownership: the Manager owns every ModelVersion; a ModelVersion owns its
// batcher (package batcher: one per version, forming batches per device
// group) and its workers; each worker
// goroutine owns its backends.Model and is the only one that calls it.
package runtime
