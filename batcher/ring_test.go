package batcher

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// liveness bounds how long a test waits for something that must happen
// eventually (a wake-up). It guards against hangs; it asserts no speed.
const liveness = 10 * time.Second

func newTestRing[T any](t *testing.T, capacity int) *Ring[T] {
	t.Helper()
	r, err := NewRing[T](capacity)
	if err != nil {
		t.Fatalf("NewRing(%d): %v", capacity, err)
	}
	return r
}

func TestNewRingCapacity(t *testing.T) {
	for _, c := range []int{0, -1, -8, 3, 6, 100, 1000, maxCapacity * 2} {
		r, err := NewRing[int](c)
		if err == nil || r != nil {
			t.Errorf("NewRing(%d) = %v, %v; want nil, error", c, r, err)
			continue
		}
		if !strings.Contains(err.Error(), fmt.Sprint(c)) {
			t.Errorf("NewRing(%d) error %q does not name the capacity", c, err)
		}
	}
	for _, c := range []int{1, 2, 64, 1024} {
		r := newTestRing[int](t, c)
		if r.Cap() != c || r.Len() != 0 {
			t.Errorf("NewRing(%d): Cap=%d Len=%d", c, r.Cap(), r.Len())
		}
	}
}

func TestRingFull(t *testing.T) {
	r := newTestRing[int](t, 4)
	for i := range 4 {
		if err := r.TryPush(i); err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
	}
	if err := r.TryPush(4); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("push into full ring: %v, want ErrQueueFull", err)
	}
	if ErrQueueFull.Error() != "queue is full" {
		t.Errorf("ErrQueueFull message %q", ErrQueueFull)
	}
	if r.Len() != 4 {
		t.Errorf("Len = %d, want 4", r.Len())
	}
	if got := r.PopBatch(nil, 1); len(got) != 1 || got[0] != 0 {
		t.Fatalf("PopBatch(1) = %v", got)
	}
	if err := r.TryPush(4); err != nil {
		t.Fatalf("push after pop: %v", err)
	}
	if got := r.PopBatch(nil, 100); fmt.Sprint(got) != "[1 2 3 4]" {
		t.Fatalf("PopBatch = %v, want [1 2 3 4]", got)
	}
}

func TestRingWrapAround(t *testing.T) {
	r := newTestRing[int](t, 4)
	next, want := 0, 0
	for lap := 0; lap < 100; lap++ {
		for r.TryPush(next) == nil {
			next++
		}
		for _, v := range r.PopBatch(nil, 1+lap%4) {
			if v != want {
				t.Fatalf("lap %d: got %d, want %d", lap, v, want)
			}
			want++
		}
	}
}

func TestRingPopBatchMaxAndZeroes(t *testing.T) {
	r := newTestRing[*int](t, 8)
	vals := make([]*int, 6)
	for i := range vals {
		vals[i] = new(int)
		*vals[i] = i
		if err := r.TryPush(vals[i]); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.PopBatch(nil, 0); got != nil {
		t.Fatalf("PopBatch(max=0) = %v, want nil", got)
	}
	prefix := []*int{nil}
	got := r.PopBatch(prefix, 4)
	if len(got) != 5 || got[0] != nil {
		t.Fatalf("PopBatch(prefix, 4) len %d, want prefix + 4", len(got))
	}
	got = r.PopBatch(got, 100) // max above Cap is clamped
	for i, p := range got[1:] {
		if p != vals[i] || *p != i {
			t.Fatalf("item %d: got %p, want %p", i, p, vals[i])
		}
	}
	for i := range r.slots {
		if r.slots[i].val != nil {
			t.Errorf("slot %d still references %p after pop", i, r.slots[i].val)
		}
	}
	if r.Len() != 0 || len(r.PopBatch(nil, 8)) != 0 {
		t.Errorf("ring not empty after popping everything")
	}
}

func TestRingClose(t *testing.T) {
	r := newTestRing[int](t, 8)
	for i := range 3 {
		if err := r.TryPush(i); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	r.Close() // idempotent
	if err := r.TryPush(9); !errors.Is(err, ErrClosed) {
		t.Fatalf("push after Close: %v, want ErrClosed", err)
	}
	ctx := context.Background()
	got, err := r.PopBatchWait(ctx, nil, 2)
	if err != nil || fmt.Sprint(got) != "[0 1]" {
		t.Fatalf("drain after Close: %v, %v", got, err)
	}
	got, err = r.PopBatchWait(ctx, got[:0], 2)
	if err != nil || fmt.Sprint(got) != "[2]" {
		t.Fatalf("drain after Close: %v, %v", got, err)
	}
	if got, err = r.PopBatchWait(ctx, got[:0], 2); !errors.Is(err, ErrClosed) || len(got) != 0 {
		t.Fatalf("PopBatchWait on closed, drained ring: %v, %v", got, err)
	}
}

func TestRingZeroAllocs(t *testing.T) {
	r := newTestRing[int](t, 64)
	buf := make([]int, 0, 64)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		for i := range 32 {
			_ = r.TryPush(i)
		}
		buf = r.PopBatch(buf[:0], 16)
		buf, _ = r.PopBatchWait(ctx, buf[:0], 64)
	})
	if allocs != 0 {
		t.Errorf("push/pop allocated %.1f times per run, want 0", allocs)
	}
}

// waitParked yields until n consumers are parked on r.
func waitParked[T any](t *testing.T, r *Ring[T], n int32) {
	t.Helper()
	deadline := time.Now().Add(liveness)
	for r.parked.n.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("consumers never parked (want %d, have %d)", n, r.parked.n.Load())
		}
		runtime.Gosched()
	}
}

type popResult struct {
	items []int
	err   error
}

func popAsync(ctx context.Context, r *Ring[int], max int) <-chan popResult {
	out := make(chan popResult, 1)
	go func() {
		items, err := r.PopBatchWait(ctx, nil, max)
		out <- popResult{items, err}
	}()
	return out
}

func recvResult(t *testing.T, c <-chan popResult) popResult {
	t.Helper()
	select {
	case res := <-c:
		return res
	case <-time.After(liveness):
		t.Fatal("parked consumer was not woken (lost wake-up)")
		return popResult{}
	}
}

func TestRingParkWake(t *testing.T) {
	t.Run("push", func(t *testing.T) {
		r := newTestRing[int](t, 8)
		c := popAsync(context.Background(), r, 8)
		waitParked(t, r, 1)
		if err := r.TryPush(42); err != nil {
			t.Fatal(err)
		}
		if res := recvResult(t, c); res.err != nil || fmt.Sprint(res.items) != "[42]" {
			t.Fatalf("woken consumer got %v, %v", res.items, res.err)
		}
	})
	t.Run("close", func(t *testing.T) {
		r := newTestRing[int](t, 8)
		c := popAsync(context.Background(), r, 8)
		waitParked(t, r, 1)
		r.Close()
		if res := recvResult(t, c); !errors.Is(res.err, ErrClosed) {
			t.Fatalf("consumer woken by Close got %v, %v", res.items, res.err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		r := newTestRing[int](t, 8)
		ctx, cancel := context.WithCancel(context.Background())
		c := popAsync(ctx, r, 8)
		waitParked(t, r, 1)
		cancel()
		if res := recvResult(t, c); !errors.Is(res.err, context.Canceled) {
			t.Fatalf("cancelled consumer got %v, %v", res.items, res.err)
		}
	})
}

// TestRingNoLostWakeups runs many push/park cycles. Odd cycles push only
// after the consumer has parked; even cycles push at once, racing the
// consumer's spin-to-park transition.
func TestRingNoLostWakeups(t *testing.T) {
	cycles := 2000
	if testing.Short() {
		cycles = 200
	}
	r := newTestRing[int](t, 4)
	for i := range cycles {
		c := popAsync(context.Background(), r, 4)
		if i%2 == 1 {
			waitParked(t, r, 1)
		}
		if err := r.TryPush(i); err != nil {
			t.Fatal(err)
		}
		if res := recvResult(t, c); res.err != nil || len(res.items) != 1 || res.items[0] != i {
			t.Fatalf("cycle %d: got %v, %v", i, res.items, res.err)
		}
	}
}

// TestRingWakePassOn parks two consumers that take one item each and pushes
// two items back to back: both must wake even if the second push finds a
// wake token already pending.
func TestRingWakePassOn(t *testing.T) {
	r := newTestRing[int](t, 4)
	for i := range 300 {
		a := popAsync(context.Background(), r, 1)
		b := popAsync(context.Background(), r, 1)
		waitParked(t, r, 2)
		_ = r.TryPush(2 * i)
		_ = r.TryPush(2*i + 1)
		ra, rb := recvResult(t, a), recvResult(t, b)
		if ra.err != nil || rb.err != nil || len(ra.items)+len(rb.items) != 2 {
			t.Fatalf("cycle %d: got %v/%v, %v/%v", i, ra.items, rb.items, ra.err, rb.err)
		}
	}
}

func TestQueueStress(t *testing.T) {
	const producers = 8
	perProducer := 20000
	if testing.Short() {
		perProducer = 2000
	}
	for _, impl := range queueImpls {
		for _, consumers := range []int{1, 2} {
			name := fmt.Sprintf("impl=%s/consumers=%d", impl.name, consumers)
			t.Run(name, func(t *testing.T) {
				stress(t, impl.new(256), producers, perProducer, consumers)
			})
		}
	}
}

// stress pushes producers*perProducer items, each encoding its producer in
// the high 32 bits and its sequence in the low 32, and checks that every
// item arrives exactly once and, per consumer, in order per producer.
func stress(t *testing.T, q Queue[uint64], producers, perProducer, consumers int) {
	var pwg, cwg sync.WaitGroup
	for p := range producers {
		pwg.Go(func() {
			for s := range perProducer {
				for q.TryPush(uint64(p)<<32|uint64(s)) != nil {
					runtime.Gosched()
				}
			}
		})
	}
	seen := make([][][]bool, consumers) // consumer -> producer -> seq
	errs := make([]error, consumers)
	for c := range consumers {
		seen[c] = make([][]bool, producers)
		for p := range seen[c] {
			seen[c][p] = make([]bool, perProducer)
		}
		cwg.Go(func() { errs[c] = consume(q, seen[c]) })
	}
	pwg.Wait()
	q.Close()
	cwg.Wait()
	for c, err := range errs {
		if err != nil {
			t.Fatalf("consumer %d: %v", c, err)
		}
	}
	for p := range producers {
		for s := range perProducer {
			n := 0
			for c := range consumers {
				if seen[c][p][s] {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("item p=%d s=%d received %d times", p, s, n)
			}
		}
	}
}

// consume pops until the queue is closed and drained, marking seen[p][s]
// and checking that each producer's sequence only increases.
func consume(q Queue[uint64], seen [][]bool) error {
	last := make([]int, len(seen))
	for i := range last {
		last[i] = -1
	}
	buf := make([]uint64, 0, 64)
	for {
		var err error
		buf, err = q.PopBatchWait(context.Background(), buf[:0], 64)
		if errors.Is(err, ErrClosed) {
			return nil
		} else if err != nil {
			return err
		}
		for _, v := range buf {
			p, s := int(v>>32), int(uint32(v))
			if s <= last[p] {
				return fmt.Errorf("producer %d: seq %d after %d", p, s, last[p])
			}
			last[p], seen[p][s] = s, true
		}
	}
}
