// Package metrics owns tiffin's Prometheus metrics: one registry, the
// request counters and latency histograms the transports feed, and a
// collector that reads the runtime's own counters (batches, queue, compute,
// per-instance CPU time, GPU telemetry) at scrape time, so the hot path pays
// nothing for metrics it already keeps.
//
// Histograms, never summaries, so they can be summed across servers.
// Labels: model, version, protocol, code and device where they apply.
package metrics
