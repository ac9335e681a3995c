// Package jobs is tiffin's bulk scoring queue: durable asynchronous jobs
// that feed rows to the runtime at bulk priority.
//
// It owns the job store, the chunking of inputs, progress and results:
//
//   - Submit reads an upload in its format, sniffed from its first bytes
//     (Parquet's PAR1, NPY's \x93NUMPY, a JSON object: NDJSON, else CSV)
//     or given, and cuts it into chunks of about ChunkBytes as it reads, so
//     no more than a chunk of it is held at a time. Text (NDJSON: a JSON
//     object of named inputs per line; CSV: the features of a single input
//     per line, an optional header first) travels as lines. Parquet (read
//     with arrow-go one row group at a time, a chunk of rows at a time
//     within it; columnar.go, parquet.go) and NPY (streamed after its
//     header) travel as raw tensors: each input's rows back to back, in the
//     model's order, as the model takes them, so scoring them decodes
//     nothing. Each chunk is a message of a JetStream work-queue stream;
//     with the embedded store its input is a file the message names
//     (bodies.go).
//   - Workers in every replica take chunks from one shared durable consumer
//     with explicit acks, Workers chunks at a time. A chunk's rows go to the
//     runtime (the Models seam: runtime.Manager's Infer and Version) in
//     requests of the model's largest batch, PriorityBulk, a few in flight
//     at once; a row that cannot be decoded or run fails alone, and a busy
//     or reloading model is retried. While a chunk is scored the worker
//     tells the queue it is in progress; a chunk not acked within AckWait
//     (its replica was killed) is redelivered to any replica. A chunk
//     delivered more than MaxRedeliveries times after its first delivery
//     (it crashed its scorer, or kept failing) is not scored again: its
//     rows fail with the last reason noted, and the job goes on.
//   - Exactly once in effect: a chunk's results go to the object store
//     under "<job>/<chunk>" (with the embedded store, to a file), then the chunk's own completion key is created
//     in the done bucket (progress.go), then the chunk is acked. A
//     redelivered chunk whose key exists is only acked. Progress is counted
//     from those keys when read; no shared record is rewritten per chunk.
//     Whoever completes the last chunk (or seals a job whose chunks are all
//     done) writes the final counts to the job's record.
//   - Results are stored as the model's raw output tensors with their row
//     range (results.go) and rendered when read, a chunk at a time: NDJSON,
//     one line per input row in input order, {"row":N,"outputs":{...}} or
//     {"row":N,"error":"..."}; or Parquet (results_parquet.go), one row
//     group per chunk.
//
// # The JobStore seam
//
// The store is JetStream, reached through one NATS connection (broker.go):
// by default a nats-server embedded in the process, storing under a data
// directory and listening on no port, connected in process; or an external
// NATS cluster (a URL) that several tiffin replicas share, which then split
// every job's chunks between them. Nothing else differs: job records live
// in the KV bucket TIFFIN_JOBS, chunk completion keys in TIFFIN_JOB_DONE,
// chunk inputs in the work-queue stream TIFFIN_JOB_CHUNKS, results in the
// object store TIFFIN_JOB_RESULTS. The embedded store alone keeps chunk
// inputs and results as files under <data dir>/jobs instead, and the
// stream carries only each chunk's headers: JetStream copied and hashed
// every body several times, a third of a wide job's CPU, and an embedded
// store has no other replica to share them with (bodies.go).
//
// Job states: pending, running, then succeeded (every row has a result,
// some may be row errors), failed (the upload failed, or every row did) or
// cancelled.
package jobs
