package batcher

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchReq is a closed-loop client's request: its producer holds a slot
// in sem until the worker that computes its last row frees it.
type benchReq struct {
	id        int
	rows      int
	submitted time.Time
	left      atomic.Int32
	sem       chan struct{}
}

func (r *benchReq) Rows() int                { return r.rows }
func (r *benchReq) Key() uint64              { return 1 }
func (r *benchReq) Context() context.Context { return context.Background() }
func (r *benchReq) Priority() Priority       { return Interactive }

// benchWorker is a fake model instance whose batch of n costs a + b·n
// (slept, so idle cores stay with the producers).
type benchWorker struct {
	group string
	a, b  time.Duration
}

var benchWorkers = []benchWorker{
	{"cpu", time.Millisecond, 20 * time.Microsecond},
	{"cpu", time.Millisecond, 20 * time.Microsecond},
	{"gpu", time.Millisecond, 5 * time.Microsecond},
}

const benchOutstanding = 32 // requests in flight per producer

// BenchmarkBatcher runs b.N requests of 1-4 rows from closed-loop
// producers (each with benchOutstanding in flight) through a batcher to
// three fake workers in two groups. It reports items/s, the p50 and p99
// of submit-to-last-row latency, and the mean batch size.
func BenchmarkBatcher(b *testing.B) {
	modes := []struct {
		name string
		cfg  Config[*benchReq]
	}{
		{"off", Config[*benchReq]{Mode: ModeOff}},
		{"static", Config[*benchReq]{Mode: ModeStatic, MaxBatch: 64, MaxQueueDelay: 2 * time.Millisecond}},
		{"adaptive", Config[*benchReq]{Mode: ModeAdaptive, MaxBatch: 64, MaxQueueDelay: 2 * time.Millisecond,
			LatencyTarget: 10 * time.Millisecond}},
	}
	for _, m := range modes {
		for _, producers := range []int{1, 16} {
			b.Run(fmt.Sprintf("mode=%s/producers=%d", m.name, producers), func(b *testing.B) {
				benchBatcher(b, m.cfg, producers, 4, benchProduce)
			})
		}
	}
}

// BenchmarkBatcherBursts submits b.N one-row requests in bursts of
// burstSize at once, burstGap apart (open loop), to the same fake
// workers. Throughput is set by the load; what differs is latency: the
// p50 and p99 of submit-to-answer, and the mean batch size.
func BenchmarkBatcherBursts(b *testing.B) {
	modes := []struct {
		name string
		cfg  Config[*benchReq]
	}{
		{"static-2ms", Config[*benchReq]{Mode: ModeStatic, MaxBatch: 64, MaxQueueDelay: 2 * time.Millisecond}},
		{"static-0s", Config[*benchReq]{Mode: ModeStatic, MaxBatch: 64}},
		{"adaptive", Config[*benchReq]{Mode: ModeAdaptive, MaxBatch: 64, LatencyTarget: 10 * time.Millisecond}},
	}
	for _, m := range modes {
		b.Run("mode="+m.name, func(b *testing.B) { benchBatcher(b, m.cfg, 1, 1, benchBurst) })
	}
}

const (
	burstSize = 200
	burstGap  = 20 * time.Millisecond
)

func benchBurst(b *testing.B, bt *Batcher[*benchReq], reqs []benchReq) {
	sem := make(chan struct{}, len(reqs)) // never full: the load is open
	next := time.Now()
	for i := 0; i < len(reqs); i += burstSize {
		time.Sleep(time.Until(next))
		next = next.Add(burstGap)
		for j := i; j < min(i+burstSize, len(reqs)); j++ {
			r := &reqs[j]
			sem <- struct{}{}
			r.sem, r.submitted = sem, time.Now()
			r.left.Store(int32(r.rows))
			if err := bt.Submit(r); err != nil {
				b.Error(err)
				return
			}
		}
	}
}

// benchBatcher runs b.N requests of 1 to maxRows rows through a batcher to
// the fake workers, submitted by producers goroutines running produce.
func benchBatcher(b *testing.B, cfg Config[*benchReq], producers, maxRows int,
	produce func(*testing.B, *Batcher[*benchReq], []benchReq)) {
	cfg.OnDrop = func(r *benchReq, err error) { b.Errorf("request %d dropped: %v", r.id, err) }
	bt, err := New(cfg, "cpu", "gpu")
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	reqs := make([]benchReq, b.N)
	wantRows := 0
	for i := range reqs {
		reqs[i].id, reqs[i].rows = i, 1+rng.IntN(maxRows)
		wantRows += reqs[i].rows
	}
	latency := make([]time.Duration, b.N)
	var gotRows, completed atomic.Int64
	var workers, prods sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for _, w := range benchWorkers {
		workers.Go(func() { benchWork(b, bt, w, latency, &gotRows, &completed) })
	}
	for p := range producers {
		lo, hi := b.N*p/producers, b.N*(p+1)/producers
		prods.Go(func() { produce(b, bt, reqs[lo:hi]) })
	}
	prods.Wait()
	bt.Close()
	workers.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if gotRows.Load() != int64(wantRows) || completed.Load() != int64(b.N) {
		b.Fatalf("computed %d rows of %d requests, want %d rows of %d", gotRows.Load(), completed.Load(), wantRows, b.N)
	}
	s := bt.Stats()
	slices.Sort(latency)
	b.ReportMetric(float64(wantRows)/elapsed.Seconds(), "items/s")
	b.ReportMetric(float64(latency[b.N/2])/1e6, "p50-ms")
	b.ReportMetric(float64(latency[(b.N-1)*99/100])/1e6, "p99-ms")
	b.ReportMetric(s.Size.Mean(), "items/batch")
}

func benchProduce(b *testing.B, bt *Batcher[*benchReq], reqs []benchReq) {
	sem := make(chan struct{}, benchOutstanding)
	for i := range reqs {
		r := &reqs[i]
		sem <- struct{}{}
		r.sem, r.submitted = sem, time.Now()
		r.left.Store(int32(r.rows))
		for {
			err := bt.Submit(r)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrQueueFull) {
				b.Error(err)
				return
			}
			runtime.Gosched()
		}
	}
}

func benchWork(b *testing.B, bt *Batcher[*benchReq], w benchWorker, latency []time.Duration, rows, completed *atomic.Int64) {
	for {
		batch, err := bt.Next(context.Background(), w.group)
		if errors.Is(err, ErrClosed) {
			return
		} else if err != nil {
			b.Error(err)
			return
		}
		start := time.Now()
		time.Sleep(w.a + time.Duration(batch.Rows)*w.b)
		compute := time.Since(start)
		now := time.Now()
		for _, p := range batch.Parts {
			rows.Add(int64(p.Rows))
			if p.Req.left.Add(-int32(p.Rows)) == 0 {
				latency[p.Req.id] = now.Sub(p.Req.submitted)
				completed.Add(1)
				<-p.Req.sem
			}
		}
		bt.Done(batch, compute)
	}
}
