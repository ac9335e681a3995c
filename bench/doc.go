// Package bench owns load and measurement: closed-loop load drivers with
// latency percentiles, the batch-window sweep behind `tiffin tune`, and the
// benchmarks whose results bench/README.md records.
//
// It is also the load generator behind `tiffin bench`, for any KServe V2
// server: a Target per protocol (HTTP JSON, HTTP with Triton's binary
// tensor extension, gRPC), each sending through transport/v2client, Run for closed-loop concurrency levels
// (RunClosed) and open-loop fixed-rate levels (OpenLoop, whose latency
// counts from each request's intended send time, free of coordinated
// omission), the server's mean batch size from Triton's statistics, a
// JSON Report with latency histograms and an SVG latency-throughput chart
// (WriteSVG). RunBaseline runs a model straight through a backend, the
// ceiling; Bare is a bare fasthttp handler, the HTTP ceiling; and
// RunScenarios is the suite behind `make bench` (bench/scenarios.sh).
//
// It uses the server's public APIs only (runtime.Manager, the HTTP and gRPC
// front ends), never its internals.
package bench
