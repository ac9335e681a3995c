package batcher

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A caller of NextUntil stops when quit closes, both while it waits for
// the group's turn and while it leads the group through a window, and
// hands the turn on.
func TestNextUntilQuits(t *testing.T) {
	b, _ := newBatcher(t, Config[*testReq]{Mode: ModeStatic, MaxBatch: 8, MaxQueueDelay: farWindow})
	submit(t, b, reqs(1)...)
	ctx, cancel := context.WithTimeout(context.Background(), liveness)
	defer cancel()
	quit := make(chan struct{})
	led := make(chan error, 1)
	go func() { _, err := b.NextUntil(ctx, "cpu", quit); led <- err }() // leads: waits out the window
	waiting := make(chan struct{})
	turn := make(chan error, 1)
	go func() { close(waiting); _, err := b.NextUntil(ctx, "cpu", waiting); turn <- err }() // quit already closed
	if err := <-turn; !errors.Is(err, ErrQuit) {
		t.Fatalf("NextUntil with quit closed = %v, want ErrQuit", err)
	}
	time.Sleep(10 * time.Millisecond)
	close(quit)
	if err := <-led; !errors.Is(err, ErrQuit) {
		t.Fatalf("the leader's NextUntil = %v, want ErrQuit", err)
	}
	submit(t, b, reqs(7)...) // 1 + 7 rows fill the batch: the turn was handed on
	wantBatch(t, next(t, b, "cpu"), "full 8: r1[0:1] r1[0:7]")
}

// Sweep drops queued requests whose context ended, without a turn.
func TestSweepDropsEndedRequests(t *testing.T) {
	b, drops := newBatcher(t, Config[*testReq]{Mode: ModeStatic, MaxBatch: 8, MaxQueueDelay: farWindow})
	ctx, cancel := context.WithCancel(context.Background())
	dead, live := reqs(1, 2)[0], reqs(2)[0]
	dead.ctx = ctx
	submit(t, b, dead, live)
	cancel()
	b.Sweep()
	got, errs := drops.snapshot()
	if len(got) != 1 || got[0] != dead || !errors.Is(errs[0], context.Canceled) {
		t.Fatalf("dropped %v %v, want only the ended request", got, errs)
	}
	if s := b.Stats(); s.Dropped != 1 || s.QueueDepth != 1 || s.QueueRows != 2 {
		t.Fatalf("stats %+v: want 1 dropped and the live request still queued", s)
	}
}

// Done takes a batch's Parts back, cleared (the requests can be collected),
// and the next batch reuses them: a batch allocates nothing.
func TestDoneRecyclesParts(t *testing.T) {
	b, _ := newBatcher(t, Config[*testReq]{Mode: ModeStatic, MaxBatch: 4, MaxQueueDelay: farWindow})
	ctx, cancel := context.WithTimeout(context.Background(), liveness)
	defer cancel()
	submit(t, b, reqs(4)...)
	first, err := b.Next(ctx, "cpu")
	if err != nil {
		t.Fatal(err)
	}
	parts := first.Parts[:1]
	b.Done(first, time.Millisecond)
	if parts[0].Req != nil {
		t.Fatalf("a finished batch's parts still hold %v", parts[0].Req)
	}
	submit(t, b, reqs(4)...)
	second, err := b.Next(ctx, "cpu")
	if err != nil {
		t.Fatal(err)
	}
	if &second.Parts[0] != &parts[0] {
		t.Fatal("the next batch did not reuse the finished batch's Parts")
	}
	b.Done(second, time.Millisecond)
}
