// Package batcher sits between request handlers and model workers. It owns
// the queueing of inference requests, batch formation, priorities, the
// adaptive batching policy and per-batch statistics; it never interprets
// what a model means and never touches tensors or the wire format (that is
// the job of the runtime, server and backend packages).
//
// # Using it
//
// One [Batcher] per model version, created with [New] for its device groups
// (e.g. "cpu", "gpu"). The request type is the runtime's own; it only has
// to implement [Request] (Rows, Key, Context, Priority).
//
//	b, err := batcher.New(batcher.Config[*job]{Mode: batcher.ModeStatic, MaxBatch: 64,
//		MaxQueueDelay: 2 * time.Millisecond, OnDrop: failJob}, "cpu", "gpu")
//
//	// transport goroutine, after validation:
//	err := b.Submit(j) // never blocks: ErrQueueFull (429 / RESOURCE_EXHAUSTED), ErrClosed, ...
//
//	// each instance worker of group g:
//	for {
//		batch, err := b.Next(ctx, g) // ErrClosed: closed and drained, stop
//		// concatenate the parts' rows along the batch axis, run, and
//		// scatter the outputs back part by part, by Offset and Rows
//		b.Done(batch, computeTime)
//	}
//
//	// shutdown: b.Close(), then the workers drain and get ErrClosed
//
// If Submit returns an error the batcher kept nothing. If it returns nil,
// exactly one of two things happens to the request:
//
//   - every row is handed out exactly once, in one or more [Part]s;
//   - or [Config].OnDrop is called once, with the cause of its context,
//     because the context was done before all its rows were handed out.
//
// # Splitting
//
// Batches count items (rows), not requests. A request with more rows than
// the space left in a batch is split: the batch gets rows [0, k) as a Part
// with Offset 0, and the request keeps its place in the queue for the rest,
// which go to later batches (Offset k, ...), possibly on other workers, in
// other groups, at the same time. The runtime therefore keeps, per request,
// the rows still outstanding: each finished Part subtracts its Rows and
// writes its outputs at its Offset; the request is answered when that
// reaches zero. OnDrop may come for a request some of whose parts are
// already in batches: the runtime fails it then, once, and ignores those
// parts' results (a finish-once guard on the request does both).
//
// # Drops and timeouts
//
// The window is never a deadline: timeouts are the requests' contexts. A
// request whose context is done is removed before it reaches a batch and
// reported through OnDrop, from the worker goroutine that found it (inside
// Next, outside all locks). The head requests are checked on every look at
// the queue, each request as it is taken into a batch, and the whole queue
// at least every 5ms while anything waits, so a cancelled or expired
// request is reported promptly even if no batch forms. Requests already
// handed out are the runtime's to check. Call Done for every batch, also
// when it failed, so the policy and the stats see it.
//
// # Batch formation and priorities
//
// Only requests with equal Key share a batch. The next batch is for the
// head request, the oldest interactive one ([Interactive]), or the oldest
// bulk one when no interactive request waits; interactive rows of that key
// go first, in arrival order, then bulk rows fill the space left. When the
// head's batch is still filling, a full batch of another key may go first
// (interactive keys before bulk ones), so ready work is not held back and
// the head is delayed by one batch at most; its window still bounds its
// wait, so no key starves. Bulk requests only run when no interactive
// batch is ready, so they delay interactive ones by at most the batch in
// flight; a bulk batch may use MaxBatch. A steady stream of ready interactive batches starves
// bulk: that is what the priority means.
//
// # Modes
//
//   - [ModeOff] (also any mode with MaxBatch 0 or 1): each request alone,
//     whole (not split), at once. Reason: [ReasonUnbatched].
//   - [ModeStatic]: a batch leaves when it reaches MaxBatch ([ReasonFull]),
//     when the rows waiting for it are exactly a preferred size
//     ([ReasonPreferred]), or MaxQueueDelay after its oldest item arrived
//     ([ReasonWindow]).
//   - [ModeAdaptive]: work-conserving by default, with no window to set.
//     Per device group, an exponentially weighted online least-squares
//     fit of compute time c(n) = a + b·n (from Done) and the arrival rate
//     λ (the larger of an EWMA of items/s and the rate inside clumps of
//     arrivals, from the gaps between requests) decide each time a worker
//     of the group is free. With q rows of the head's key queued, the batch
//     leaves at once with all of them (up to MaxBatch: holding rows back
//     would only lengthen the queue) unless waiting truly pays: waiting
//     t for m = λt more rows idles the worker t (plus its measured
//     wake-up lag) and saves at most the fixed cost a of the batch those
//     rows would otherwise need, so it waits only when
//     c(q)+c(m) >= 1.25·(t + lag + c(q+m)), when the rows then run 1.25
//     times faster per second of worker time than q/c(q), when the
//     oldest row's queue delay plus t plus c(q+m) stays within
//     LatencyTarget, and for at most credit·c(q). A wait ends early once
//     no row came for four expected gaps, or once going on no longer
//     pays; the batch then leaves ([ReasonWindow] if the wait ran out,
//     [ReasonAdaptive] otherwise; [ReasonFull] at MaxBatch). A wait pays
//     if rows came and it took no longer than a; one that did not pay
//     halves the credit, one that did doubles it, and each batch within
//     LatencyTarget adds 1/1024 (a batch over it halves the credit);
//     under 1/8 the policy does not wait. This is the closed-loop
//     protection: when each client waits for its answer, the measured
//     rate is the server's own throughput and the promised rows never
//     come. A group named in Config.SharedCores (instances that run on
//     the front end's own cores) counts only the wake-up lag as the
//     wait's cost, not t: its cores read the rows meanwhile, so the same
//     tests decide with t taken out of the worker's idle time, and a wait
//     pays if rows came, however long it took. Each sample is first clipped at twice the latest solution's
//     prediction, so batches slowed by preemption do not make the fit
//     noise. While the fit is not trusted (fewer than 8 batches, no spread
//     in sizes and no earlier good fit, or an rms residual above 40% of
//     the mean cost) the policy falls back: a flat or negative slope
//     (batching is free) is taken as c(n) = the typical compute time
//     (geometric EWMA) with the same rules and AIMD credit; a noisy or
//     unknown cost gives no basis for a wait, so it is purely
//     work-conserving. MaxQueueDelay and Preferred are not used.
//
// After [Batcher.Close] everything queued leaves at once ([ReasonDrain]).
// Device groups share the queue; each group's idle worker applies its own
// policy, and whichever decides first takes the batch.
//
// # Stats
//
// [Batcher.Stats] returns counters (submitted, rejected, dropped, batches
// per [Reason]), histograms of batch size, queue delay and compute time,
// the queue depth, the arrival rate and each group's current window and
// target. [Config].OnBatch receives each batch's [BatchStats] for metrics.
//
// # The queue underneath
//
// Submit pushes onto [Ring]s (one per priority): bounded, lock-free,
// multi-producer ring buffers with sequence-numbered slots and
// non-blocking [Ring.TryPush] and [Ring.PopBatch]; producers never take a
// lock. Workers coordinate with one mutex and park on their group's wake
// channel. See LOCKS.md for the concurrency protocol and who owns what.
package batcher
