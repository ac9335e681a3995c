package batcher

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

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
		if r.Cap() != c || r.headReady() {
			t.Errorf("NewRing(%d): Cap=%d, head ready %v", c, r.Cap(), r.headReady())
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
	if r.headReady() || len(r.PopBatch(nil, 8)) != 0 {
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
	if got := r.PopBatch(nil, 2); fmt.Sprint(got) != "[0 1]" || r.closedAndDrained() {
		t.Fatalf("drain after Close: %v, drained %v", got, r.closedAndDrained())
	}
	if got := r.PopBatch(nil, 2); fmt.Sprint(got) != "[2]" || !r.closedAndDrained() {
		t.Fatalf("drain after Close: %v, drained %v", got, r.closedAndDrained())
	}
	if got := r.PopBatch(nil, 2); len(got) != 0 {
		t.Fatalf("PopBatch on a closed, drained ring: %v", got)
	}
}

func TestRingZeroAllocs(t *testing.T) {
	r := newTestRing[int](t, 64)
	buf := make([]int, 0, 64)
	allocs := testing.AllocsPerRun(1000, func() {
		for i := range 32 {
			_ = r.TryPush(i)
		}
		buf = r.PopBatch(buf[:0], 16)
		buf = r.PopBatch(buf[:0], 64)
	})
	if allocs != 0 {
		t.Errorf("push/pop allocated %.1f times per run, want 0", allocs)
	}
}

// TestRingStress runs many producers against one or two consumers.
func TestRingStress(t *testing.T) {
	const producers = 8
	perProducer := 20000
	if testing.Short() {
		perProducer = 2000
	}
	for _, consumers := range []int{1, 2} {
		t.Run(fmt.Sprintf("consumers=%d", consumers), func(t *testing.T) {
			stress(t, newTestRing[uint64](t, 256), producers, perProducer, consumers)
		})
	}
}

// stress pushes producers*perProducer items, each encoding its producer in
// the high 32 bits and its sequence in the low 32, and checks that every
// item arrives exactly once and, per consumer, in order per producer.
func stress(t *testing.T, q *Ring[uint64], producers, perProducer, consumers int) {
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

// consume pops until the ring is closed and drained, yielding while it is
// empty, marking seen[p][s] and checking that each producer's sequence
// only increases.
func consume(q *Ring[uint64], seen [][]bool) error {
	last := make([]int, len(seen))
	for i := range last {
		last[i] = -1
	}
	buf := make([]uint64, 0, 64)
	for {
		if buf = q.PopBatch(buf[:0], 64); len(buf) == 0 {
			if q.closedAndDrained() {
				return nil
			}
			runtime.Gosched()
			continue
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
