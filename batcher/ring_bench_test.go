package batcher

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	benchCapacity = 1024
	benchBatch    = 64
)

type queueImpl struct {
	name string
	new  func(capacity int) Queue[uint64]
}

// queueImpls are the implementations the stress test and the benchmark
// grid run through one code path.
var queueImpls = []queueImpl{
	{"ring", func(c int) Queue[uint64] {
		r, err := NewRing[uint64](c)
		if err != nil {
			panic(err)
		}
		return r
	}},
	{"chan", func(c int) Queue[uint64] { return newChanQueue[uint64](c) }},
	{"mutex", func(c int) Queue[uint64] { return newMutexQueue[uint64](c) }},
}

// BenchmarkQueue pushes b.N items in total, split across the producers,
// and pops them in batches of up to benchBatch; ns/op is per item.
func BenchmarkQueue(b *testing.B) {
	for _, impl := range queueImpls {
		for _, producers := range []int{1, 4, 16, 64} {
			for _, consumers := range []int{1, 2} {
				name := fmt.Sprintf("impl=%s/producers=%d/consumers=%d", impl.name, producers, consumers)
				b.Run(name, func(b *testing.B) {
					benchQueue(b, impl.new(benchCapacity), producers, consumers)
				})
			}
		}
	}
}

func benchQueue(b *testing.B, q Queue[uint64], producers, consumers int) {
	b.ReportAllocs()
	total := uint64(b.N)
	var count, sum, pops atomic.Uint64
	var pwg, cwg sync.WaitGroup
	errs := make(chan error, consumers)
	b.ResetTimer()
	for c := 0; c < consumers; c++ {
		cwg.Go(func() {
			n, s, k, err := drain(q)
			count.Add(n)
			sum.Add(s)
			pops.Add(k)
			errs <- err
		})
	}
	for p := 0; p < producers; p++ {
		lo, hi := total*uint64(p)/uint64(producers), total*uint64(p+1)/uint64(producers)
		pwg.Go(func() { produce(q, lo, hi) })
	}
	pwg.Wait()
	q.Close()
	cwg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatalf("consumer: %v", err)
		}
	}
	// Values 1..N were pushed once each.
	if wantSum := total * (total + 1) / 2; count.Load() != total || sum.Load() != wantSum {
		b.Fatalf("received %d items with sum %d, want %d items with sum %d",
			count.Load(), sum.Load(), total, wantSum)
	}
	if pops.Load() > 0 {
		b.ReportMetric(float64(total)/float64(pops.Load()), "items/pop")
	}
}

// produce pushes the values lo+1..hi, yielding while the queue is full.
func produce(q Queue[uint64], lo, hi uint64) {
	for v := lo + 1; v <= hi; v++ {
		for {
			err := q.TryPush(v)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrQueueFull) {
				panic(err)
			}
			runtime.Gosched()
		}
	}
}

// drain pops in batches until the queue is closed and empty, returning
// how many items it received, their sum and how many non-empty pops it took.
func drain(q Queue[uint64]) (n, sum, pops uint64, err error) {
	buf := make([]uint64, 0, benchBatch)
	ctx := context.Background()
	for {
		buf, err = q.PopBatchWait(ctx, buf[:0], benchBatch)
		if errors.Is(err, ErrClosed) {
			return n, sum, pops, nil
		} else if err != nil {
			return n, sum, pops, err
		}
		pops++
		n += uint64(len(buf))
		for _, v := range buf {
			sum += v
		}
	}
}

// BenchmarkRingWake measures one park/wake round: the consumer is parked
// in PopBatchWait before each push, and wake-ns is the mean time from the
// push to the consumer holding the item. ns/op includes the spin phase.
func BenchmarkRingWake(b *testing.B) {
	r, err := NewRing[int64](8)
	if err != nil {
		b.Fatal(err)
	}
	got := make(chan int64)
	go func() {
		buf := make([]int64, 0, 1)
		for {
			var perr error
			buf, perr = r.PopBatchWait(context.Background(), buf[:0], 1)
			if perr != nil {
				close(got)
				return
			}
			got <- time.Now().UnixNano() - buf[0]
		}
	}()
	b.ReportAllocs()
	var total int64
	for b.Loop() {
		for r.parked.n.Load() == 0 {
			runtime.Gosched()
		}
		if err := r.TryPush(time.Now().UnixNano()); err != nil {
			b.Fatal(err)
		}
		total += <-got
	}
	r.Close()
	<-got
	b.ReportMetric(float64(total)/float64(b.N), "wake-ns")
}
