package batcher

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stressReq is one planned request of the stress test and what happened
// to it.
type stressReq struct {
	testReq
	expires  bool // submitted with a short deadline or cancelled after submit
	accepted bool // Submit returned nil
	covered  []atomic.Int32
	drops    atomic.Int32
}

// TestStress: many submitters and several workers in two groups; every row
// of every accepted request is delivered exactly once, or the request is
// reported dropped once (only requests with a deadline or cancellation).
func TestStress(t *testing.T) {
	for _, mode := range []Mode{ModeStatic, ModeAdaptive, ModeOff} {
		t.Run(mode.String(), func(t *testing.T) { stressBatcher(t, mode) })
	}
}

func stressBatcher(t *testing.T, mode Mode) {
	const producers, perProducer, maxBatch = 8, 400, 16
	rng := rand.New(rand.NewPCG(42, uint64(mode)))
	plan := make([]*stressReq, producers*perProducer)
	for i := range plan {
		r := &stressReq{testReq: testReq{id: i, rows: 1 + rng.IntN(2*maxBatch), key: uint64(rng.IntN(3))}}
		if rng.IntN(10) < 3 {
			r.prio = Bulk
		}
		r.expires = rng.IntN(10) == 0
		r.covered = make([]atomic.Int32, r.rows)
		plan[i] = r
	}
	byReq := make(map[*testReq]*stressReq, len(plan))
	for _, r := range plan {
		byReq[&r.testReq] = r
	}
	cfg := Config[*testReq]{Mode: mode, MaxBatch: maxBatch, MaxQueueDelay: ms / 2, QueueSize: 64,
		LatencyTarget: 5 * ms, Preferred: []int{8}, OnDrop: func(r *testReq, err error) {
			if byReq[r].drops.Add(1); err == nil {
				t.Errorf("%v dropped with a nil error", r)
			}
		}}
	b, err := New(cfg, "cpu", "gpu")
	if err != nil {
		t.Fatal(err)
	}
	var workers sync.WaitGroup
	errs := make(chan error, 4)
	for _, g := range []string{"cpu", "cpu", "gpu", "gpu"} {
		workers.Go(func() { errs <- stressWorker(b, g, maxBatch, byReq) })
	}
	var prod sync.WaitGroup
	for p := range producers {
		prod.Go(func() { stressSubmit(b, plan[p*perProducer:(p+1)*perProducer]) })
	}
	prod.Wait()
	b.Close()
	workers.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("worker: %v", err)
		}
	}
	checkDelivery(t, plan)
	s := b.Stats()
	if s.QueueDepth != 0 || s.QueueRows != 0 || s.InFlight != 0 {
		t.Errorf("after drain: %+v", s)
	}
	t.Logf("%d submitted, %d rejected (full), %d dropped, %d batches, reasons %v, mean size %.1f",
		s.Submitted, s.Rejected, s.Dropped, s.Batches, s.Reasons, s.Size.Mean())
}

// stressSubmit submits rs, retrying while the queue is full. A request
// marked expires gets a deadline of up to 2ms, or is cancelled right after
// Submit. Every 64 requests it pauses for a millisecond.
func stressSubmit(b *Batcher[*testReq], rs []*stressReq) {
	for i, r := range rs {
		var cancel context.CancelFunc = func() {}
		if r.expires && i%2 == 0 {
			r.ctx, cancel = context.WithTimeout(context.Background(), time.Duration(i%5)*ms/2)
		} else if r.expires {
			r.ctx, cancel = context.WithCancel(context.Background())
		}
		for {
			err := b.Submit(&r.testReq)
			if errors.Is(err, ErrQueueFull) {
				runtime.Gosched()
				continue
			}
			r.accepted = err == nil
			break
		}
		if i%2 == 1 {
			cancel()
		} else {
			defer cancel()
		}
		if i%64 == 63 {
			time.Sleep(ms) // a lull, so windows and partial batches happen too
		}
	}
}

// stressWorker runs batches until Next fails, checking each batch's shape
// and marking every row it carries.
func stressWorker(b *Batcher[*testReq], group string, maxBatch int, byReq map[*testReq]*stressReq) error {
	for {
		batch, err := b.Next(context.Background(), group)
		if err != nil {
			return err
		}
		rows := 0
		for _, p := range batch.Parts {
			if p.Req.key != batch.Parts[0].Req.key {
				return fmt.Errorf("batch %s mixes keys", show(batch))
			}
			r := byReq[p.Req]
			for i := p.Offset; i < p.Offset+p.Rows; i++ {
				r.covered[i].Add(1)
			}
			rows += p.Rows
		}
		switch {
		case rows != batch.Rows || rows == 0:
			return fmt.Errorf("batch %s: parts sum to %d rows", show(batch), rows)
		case b.cfg.Mode == ModeOff && len(batch.Parts) != 1:
			return fmt.Errorf("unbatched %s", show(batch))
		case b.cfg.Mode != ModeOff && rows > maxBatch:
			return fmt.Errorf("batch %s over MaxBatch", show(batch))
		}
		if len(batch.Parts)%3 == 0 {
			runtime.Gosched()
		}
		b.Done(batch, time.Duration(100+10*rows)*time.Microsecond)
	}
}

func checkDelivery(t *testing.T, plan []*stressReq) {
	t.Helper()
	for _, r := range plan {
		drops := r.drops.Load()
		switch {
		case !r.accepted && drops != 0:
			t.Fatalf("%v: rejected by Submit and also dropped", r)
		case drops > 1 || drops == 1 && !r.expires:
			t.Fatalf("%v: dropped %d times (expires=%v)", r, drops, r.expires)
		}
		for i := range r.covered {
			n := r.covered[i].Load()
			ok := n == 0 || n == 1 && drops == 1 // not accepted, or dropped after some parts
			if r.accepted && drops == 0 {
				ok = n == 1
			}
			if !ok {
				t.Fatalf("%v (accepted=%v, drops=%d): row %d delivered %d times", r, r.accepted, drops, i, n)
			}
		}
	}
}
