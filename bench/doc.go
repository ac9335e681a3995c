// Package bench owns load and measurement: closed-loop load drivers with
// latency percentiles, the batch-window sweep behind `tiffin tune`, and the
// benchmarks whose results bench/README.md records.
//
// It uses the server's public APIs only (runtime.Manager, the HTTP and gRPC
// front ends), never its internals.
package bench
