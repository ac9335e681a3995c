package jobs

import (
	"context"
	"errors"
	"log/slog"
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

// handle scores one chunk and records it, or leaves it for redelivery.
func (p *pool) handle(msg jetstream.Msg) {
	c, err := parseChunkRef(msg.Headers())
	if err != nil {
		p.log.Error("dropping a malformed chunk", "err", err)
		_ = msg.Term()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	rec, _, err := p.store.get(ctx, c.job)
	cancel()
	switch {
	case runtime.KindOf(err) == runtime.KindNotFound:
		_ = msg.Term() // the job was deleted
		return
	case err != nil:
		p.retryLater(msg, c, err)
		return
	case rec.State.Finished() || rec.Done.has(c.index):
		p.ack(msg, c) // cancelled, or scored before a crash
		return
	}
	if rec.State == Pending {
		p.markRunning(c.job)
	}
	beat := p.heartbeat(msg)
	res, err := p.scorer.score(p.work, rec, c, msg.Data())
	beat()
	if err != nil {
		_ = msg.Nak() // abandoned at shutdown: another replica may take it now
		return
	}
	err = p.record(c, res)
	res.release()
	if err != nil {
		p.retryLater(msg, c, err)
		return
	}
	p.ack(msg, c)
}

// record stores a chunk's result and marks the chunk done in its job.
func (p *pool) record(c chunkRef, res chunkResult) error {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := p.store.putResult(ctx, c.job, c.index, res.reader()); err != nil {
		return err
	}
	rec, err := p.store.update(ctx, c.job, func(r *record) bool {
		return r.complete(c, res.failed, res.firstErr, p.replica, time.Now().UTC())
	})
	if err != nil {
		return err
	}
	if rec.State == Cancelled {
		return p.store.deleteResults(ctx, c.job, bitmapOf(c.index))
	}
	p.log.Debug("chunk scored", "job", c.job, "chunk", c.index, "rows", c.rows, "failed", res.failed)
	if rec.State.Finished() {
		p.log.Info("job finished", "job", c.job, "status", rec.State, "rows", rec.RowsTotal, "failed", rec.RowsFailed)
	}
	return nil
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

func (p *pool) ack(msg jetstream.Msg, c chunkRef) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := msg.DoubleAck(ctx); err != nil {
		p.log.Warn("ack a chunk; it will be redelivered and acked again", "job", c.job, "chunk", c.index, "err", err)
	}
}

func (p *pool) retryLater(msg jetstream.Msg, c chunkRef, err error) {
	p.log.Warn("chunk left for redelivery", "job", c.job, "chunk", c.index, "err", err)
	_ = msg.NakWithDelay(time.Second)
}

func bitmapOf(i int) bitmap {
	var b bitmap
	b.set(i)
	return b
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
