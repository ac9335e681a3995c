package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tiffin-ml/tiffin/runtime"
)

// storeTimeout bounds one job store operation of a worker.
const storeTimeout = 15 * time.Second

// pool scores chunks from the shared consumer, a bounded number at once.
// Each chunk's result is stored, then recorded in the job by compare-and-
// set on its done set, then acked: a chunk delivered twice (a replica died
// before its ack) finds itself recorded and is only acked, so every row
// counts once.
type pool struct {
	store   *store
	scorer  *scorer
	cons    jetstream.Consumer
	ackWait time.Duration
	replica string
	log     *slog.Logger

	maxRedeliveries int     // deliveries beyond the first before a chunk's rows fail
	counts          *counts // the service's, for /metrics

	slots   chan struct{} // one token per chunk in flight
	stop    context.CancelFunc
	stopped chan struct{} // closed when the fetch loop has returned
	work    context.Context
	abandon context.CancelFunc // ends the scoring of chunks in flight
	wg      sync.WaitGroup     // chunks in flight
}

func (p *pool) start(workers int) {
	ctx, stop := context.WithCancel(context.Background())
	p.work, p.abandon = context.WithCancel(context.Background())
	p.slots, p.stop, p.stopped = make(chan struct{}, workers), stop, make(chan struct{})
	go p.fetch(ctx)
}

// shutdown stops taking chunks and lets those in flight finish until ctx
// ends; the ones still running then are abandoned un-acked, so the queue
// redelivers them after the ack wait.
func (p *pool) shutdown(ctx context.Context) error {
	p.stop()
	<-p.stopped
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		p.abandon()
		<-done
		return errors.New("chunks in flight abandoned at the shutdown deadline; they will be redelivered")
	}
}

func (p *pool) fetch(ctx context.Context) {
	defer close(p.stopped)
	for {
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		msg, err := p.next(ctx)
		if err != nil {
			<-p.slots
			if ctx.Err() != nil {
				return
			}
			if !idle(err) {
				p.log.Warn("fetch a chunk", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		p.wg.Add(1)
		go func() {
			defer func() { <-p.slots; p.wg.Done() }()
			p.handle(msg)
		}()
	}
}

func (p *pool) next(ctx context.Context) (jetstream.Msg, error) {
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return p.cons.Next(jetstream.FetchContext(fctx))
}

// idle reports whether a fetch error only means there was nothing to take.
func idle(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoMessages)
}

// handle scores one chunk and records it, or leaves it for redelivery. A
// chunk delivered more than maxRedeliveries times since it was queued (it
// crashed its replica, or kept failing) is not scored again: its rows fail
// with the reason, and the job goes on.
func (p *pool) handle(msg jetstream.Msg) {
	c, err := parseChunkRef(msg.Headers())
	if err != nil {
		p.log.Error("dropping a malformed chunk", "err", err)
		_ = msg.Term()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	rec, _, err := p.store.get(ctx, c.job)
	done := false
	if err == nil {
		done, err = p.store.isDone(ctx, c)
	}
	cancel()
	switch {
	case runtime.KindOf(err) == runtime.KindNotFound:
		p.store.dropInput(msg, c)
		_ = msg.Term() // the job was deleted
		return
	case err != nil:
		p.retryLater(msg, c, err)
		return
	case rec.State.Finished() || done:
		p.ack(msg, c) // cancelled, or scored before a crash
		return
	}
	if rec.State == Pending {
		p.markRunning(c.job)
	}
	var res chunkResult
	n := deliveries(msg)
	p.counts.taken(n, n > p.maxRedeliveries+1)
	if n > p.maxRedeliveries+1 {
		res = p.poisoned(c, n-2)
	} else {
		beat, working := p.heartbeat(msg), p.scorer.models.BulkWork()
		var data []byte
		var release func()
		if data, release, err = p.store.chunkInput(msg, c); err == nil {
			res, err = p.scoreSafely(rec, c, data)
			if err == nil && !res.leftBehind {
				release() // every try was answered: none is still in the runtime, holding the input
			}
		}
		working()
		beat()
		switch {
		case p.work.Err() != nil:
			res.release()
			_ = msg.Nak() // abandoned at shutdown: another replica may take it now
			return
		case err != nil:
			p.retryLater(msg, c, err)
			return
		}
	}
	finished, err := p.record(rec, c, res)
	res.release()
	if err != nil {
		p.retryLater(msg, c, err)
		return
	}
	p.ack(msg, c)
	if finished { // every chunk is done: a copy delivered again is acked unread
		if err := p.store.dropChunkFiles(rec); err != nil {
			p.log.Warn("remove a finished job's chunk folder", "job", c.job, "err", err)
		}
	}
}

// scoreSafely scores a chunk, turning a panic of the scoring into an
// error, so one chunk that crashes it cannot take the replica down.
func (p *pool) scoreSafely(rec *record, c chunkRef, data []byte) (res chunkResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("scoring a chunk panicked", "job", c.job, "chunk", c.index, "panic", r, "stack", string(debug.Stack()))
			res, err = chunkResult{}, fmt.Errorf("scoring it panicked: %v", r)
		}
	}()
	return p.scorer.score(p.work, rec, c, data)
}

// poisoned is the result of a chunk delivered too often: every row fails
// with the reason.
func (p *pool) poisoned(c chunkRef, redelivered int) chunkResult {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	why := p.store.why(ctx, c)
	cancel()
	if why == "" {
		why = "the replica scoring it stopped (crashed or was killed) each time"
	}
	again := fmt.Sprintf("and when redelivered %d times, the most allowed", redelivered)
	if redelivered == 0 {
		again = "and is not redelivered"
	}
	msg := fmt.Sprintf("chunk %d (rows %d-%d) failed when delivered %s (jobs.max_redeliveries); last failure: %s",
		c.index, c.firstRow, c.firstRow+int64(c.rows)-1, again, why)
	p.log.Warn("poison chunk: its rows fail", "job", c.job, "chunk", c.index, "rows", c.rows, "reason", why)
	return failAll(c, c.rows, msg)
}

// deliveries is how many times the queue has delivered msg, this time
// included.
func deliveries(msg jetstream.Msg) int {
	md, err := msg.Metadata()
	if err != nil {
		return 1
	}
	return int(md.NumDelivered)
}

// record stores a chunk's result and marks the chunk done, by creating
// its own completion key; whoever completes the last chunk finishes the
// job, and is told so (finished) once its job keeps results.
func (p *pool) record(job *record, c chunkRef, res chunkResult) (finished bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := p.store.putResult(ctx, job, c.index, res.reader()); err != nil {
		return false, err
	}
	fresh, err := p.store.markDone(ctx, c, chunkDone{Rows: c.rows, Failed: res.failed, FirstErr: res.firstErr, Replica: p.replica})
	if err != nil || !fresh {
		return false, err
	}
	p.counts.scored(c.rows, res.failed)
	rec, err := p.store.finishIfDone(ctx, c.job, p.log)
	if runtime.KindOf(err) == runtime.KindNotFound {
		// Purged while this chunk was scored: what it just stored (a result
		// file, a folder made again, a completion key) would stay for good.
		return false, p.store.deleteResults(ctx, job)
	}
	if err != nil {
		return false, err
	}
	if rec.State == Cancelled || rec.State == Failed && !rec.Sealed { // cancelled, or its upload failed: no results to keep
		return false, p.store.deleteResults(ctx, rec)
	}
	p.log.Debug("chunk scored", "job", c.job, "chunk", c.index, "rows", c.rows, "failed", res.failed)
	return rec.State.Finished(), nil
}

func (p *pool) markRunning(job string) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if _, err := p.store.update(ctx, job, func(r *record) bool { return r.start(time.Now().UTC()) }); err != nil {
		p.log.Warn("mark job running", "job", job, "err", err)
	}
}

// heartbeat tells the queue the chunk is still being scored, so it is not
// redelivered while this replica works on it. The returned func stops it.
func (p *pool) heartbeat(msg jetstream.Msg) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(p.ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = msg.InProgress()
			case <-done:
				return
			}
		}
	}()
	return func() { close(done) }
}

// ack acks a chunk that is done, or whose job is, and takes away its input
// file (store.dropInput): a redelivery finds it done and needs no input.
func (p *pool) ack(msg jetstream.Msg, c chunkRef) {
	p.store.dropInput(msg, c)
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := msg.DoubleAck(ctx); err != nil {
		p.log.Warn("ack a chunk; it will be redelivered and acked again", "job", c.job, "chunk", c.index, "err", err)
	}
}

// retryLater leaves a chunk for redelivery after a second, noting why, for
// the report should it become poison.
func (p *pool) retryLater(msg jetstream.Msg, c chunkRef, err error) {
	p.log.Warn("chunk left for redelivery", "job", c.job, "chunk", c.index, "err", err)
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if werr := p.store.setWhy(ctx, c, err.Error()); werr != nil {
		p.log.Warn("note why a chunk failed", "job", c.job, "chunk", c.index, "err", werr)
	}
	_ = msg.NakWithDelay(time.Second)
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
