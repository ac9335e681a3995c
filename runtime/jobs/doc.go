// Package jobs is tiffin's bulk scoring queue: durable asynchronous jobs
// that feed rows to the runtime at bulk priority.
//
// It owns the job store, the chunking of inputs, progress and results:
//
//   - Submit reads an upload (NDJSON: a JSON object of named inputs per
//     line, each the row's tensor without the batch axis; CSV: the features
//     of a model's single input per line, an optional header first) and cuts
//     it into chunks of at most ChunkRows rows (and the server's largest
//     message) as it reads, so no more than a chunk of it is held at a time.
//     (Over HTTP, fasthttp has read the body whole before Submit runs, so an
//     upload there is bounded by --max-body-bytes.) Each chunk is a message
//     of a JetStream work-queue stream, its input lines the body.
//   - Workers in every replica take chunks from one shared durable consumer
//     with explicit acks, Workers chunks at a time. A chunk's rows go to the
//     runtime (the Models seam: runtime.Manager's Infer and Version) in
//     requests of the model's largest batch, PriorityBulk, a few in flight
//     at once; a row that cannot be decoded or run fails alone, and a busy
//     or reloading model is retried. While a chunk is scored the worker
//     tells the queue it is in progress; a chunk not acked within AckWait
//     (its replica was killed) is redelivered to any replica.
//   - Exactly once in effect: a chunk's result lines go to the object store
//     under "<job>/<chunk>", then the chunk is added to the job record's done
//     set by compare-and-set, then acked. A redelivered chunk already in the
//     done set is only acked. Progress (rows done and failed) is summed as
//     chunks join the done set, in the same compare-and-set, so it never
//     counts a chunk twice.
//   - Results are the chunks' result objects read in chunk order: one line
//     per input row, in input order, {"row":N,"outputs":{...}} or
//     {"row":N,"error":"..."}.
//
// # The JobStore seam
//
// The store is JetStream, reached through one NATS connection (broker.go):
// by default a nats-server embedded in the process, storing under a data
// directory and listening on no port, connected in process; or an external
// NATS cluster (a URL) that several tiffin replicas share, which then split
// every job's chunks between them. Nothing else differs: job records live
// in the KV bucket TIFFIN_JOBS, chunk inputs in the work-queue stream
// TIFFIN_JOB_CHUNKS, results in the object store TIFFIN_JOB_RESULTS.
//
// Job states: pending, running, then succeeded (every row has a result,
// some may be row errors), failed (the upload failed, or every row did) or
// cancelled.
package jobs
