package batcher

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// waitDrops yields until log holds n reports.
func waitDrops(t *testing.T, log *dropLog, n int) ([]*testReq, []error) {
	t.Helper()
	deadline := time.Now().Add(liveness)
	for {
		reqs, errs := log.snapshot()
		if len(reqs) >= n {
			return reqs, errs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d drops reported, want %d", len(reqs), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// nextAsync runs Next in the background until ctx is done.
func nextAsync(ctx context.Context, b *Batcher[*testReq], group string) <-chan error {
	errc := make(chan error, 1)
	go func() {
		for {
			batch, err := b.Next(ctx, group)
			if err != nil {
				errc <- err
				return
			}
			b.Done(batch, 0)
		}
	}()
	return errc
}

func TestDropCancelled(t *testing.T) {
	b, log := newBatcher(t, static(8, farWindow))
	ctx, cancel := context.WithCancel(context.Background())
	r := reqs(3, 4, 2)
	r[1].ctx = ctx
	submit(t, b, r...)
	cancel()
	b.Close()
	wantBatch(t, next(t, b, "cpu"), "drain 5: r1[0:3] r3[0:2]")
	reqs, errs := log.snapshot()
	if len(reqs) != 1 || reqs[0] != r[1] || !errors.Is(errs[0], context.Canceled) {
		t.Fatalf("drops %v %v, want r2 with context.Canceled", reqs, errs)
	}
	if s := b.Stats(); s.Dropped != 1 || s.QueueDepth != 0 || s.QueueRows != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestDropExpiredWhileWaiting: a request whose deadline passes while its
// batch is still filling is reported without any other event, at the
// head of the queue or behind it.
func TestDropExpiredWhileWaiting(t *testing.T) {
	b, log := newBatcher(t, static(8, farWindow))
	live := &testReq{id: 1, rows: 1, key: 7}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	head := &testReq{id: 2, rows: 2, key: 7, ctx: ctx}
	behind := &testReq{id: 3, rows: 2, key: 9, ctx: ctx}
	submit(t, b, head, live, behind)
	wctx, stop := context.WithCancel(context.Background())
	errc := nextAsync(wctx, b, "cpu")
	reqs, errs := waitDrops(t, log, 2)
	stop()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("worker: %v", err)
	}
	for i, r := range reqs {
		if r == live || !errors.Is(errs[i], context.DeadlineExceeded) {
			t.Errorf("drop %d: %v, %v", i, r, errs[i])
		}
	}
	if s := b.Stats(); s.QueueDepth != 1 || s.QueueRows != 1 || s.Batches != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestDropPartlyDispatched: a split request cancelled between its parts
// loses its remaining rows and is reported once.
func TestDropPartlyDispatched(t *testing.T) {
	b, log := newBatcher(t, static(4, farWindow))
	ctx, cancel := context.WithCancel(context.Background())
	big := &testReq{id: 1, rows: 10, key: 7, ctx: ctx}
	submit(t, b, big)
	wantBatch(t, next(t, b, "cpu"), "full 4: r1[0:4]")
	cancel()
	b.Close()
	ctx2, stop := context.WithTimeout(context.Background(), liveness)
	defer stop()
	if batch, err := b.Next(ctx2, "cpu"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next = %s, %v; want ErrClosed", show(batch), err)
	}
	if reqs, _ := log.snapshot(); len(reqs) != 1 || reqs[0] != big {
		t.Fatalf("drops %v", reqs)
	}
}

func TestInteractiveBeforeBulk(t *testing.T) {
	b, _ := newBatcher(t, static(8, 0))
	var bulk []*testReq
	for i := range 5 {
		bulk = append(bulk, &testReq{id: 10 + i, rows: 8, key: 1, prio: Bulk})
	}
	submit(t, b, bulk...)
	// A worker takes a bulk batch; interactive requests arrive behind the
	// other four: the next batch is theirs.
	wantBatch(t, next(t, b, "cpu"), "full 8: r10[0:8]")
	submit(t, b, &testReq{id: 1, rows: 2, key: 2}, &testReq{id: 2, rows: 3, key: 1})
	wantBatch(t, next(t, b, "cpu"), "window 2: r1[0:2]")
	// Same key as bulk: interactive rows first, bulk fills the space.
	wantBatch(t, next(t, b, "cpu"), "full 8: r2[0:3] r11[0:5]")
	wantBatch(t, next(t, b, "cpu"), "full 8: r11[5:8] r12[0:5]")
}

func TestBulkUsesIdleTime(t *testing.T) {
	// The interactive head waits for its window; a full bulk batch may run
	// meanwhile (it delays the interactive one by one batch at most).
	b, _ := newBatcher(t, static(4, farWindow))
	submit(t, b, &testReq{id: 1, rows: 1, key: 1})
	submit(t, b, &testReq{id: 2, rows: 4, key: 2, prio: Bulk})
	wantBatch(t, next(t, b, "cpu"), "full 4: r2[0:4]")
	nothingFor(t, b, 20*time.Millisecond)
}

func TestCloseDrains(t *testing.T) {
	b, _ := newBatcher(t, static(4, farWindow), "cpu", "gpu")
	submit(t, b, reqs(3, 3, 1)...)
	submit(t, b, &testReq{id: 9, rows: 2, key: 5, prio: Bulk})
	b.Close()
	b.Close()
	if err := b.Submit(&testReq{rows: 1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Close: %v", err)
	}
	wantBatch(t, next(t, b, "gpu"), "drain 4: r1[0:3] r2[0:1]")
	wantBatch(t, next(t, b, "cpu"), "drain 3: r2[1:3] r3[0:1]")
	wantBatch(t, next(t, b, "cpu"), "drain 2: r9[0:2]")
	for _, g := range []string{"cpu", "gpu", "cpu"} {
		if _, err := b.Next(context.Background(), g); !errors.Is(err, ErrClosed) {
			t.Fatalf("Next(%s) after drain: %v", g, err)
		}
	}
}

func TestCloseWakesWaitingWorkers(t *testing.T) {
	b, _ := newBatcher(t, static(4, farWindow), "cpu", "gpu")
	submit(t, b, reqs(1)...)
	var errcs []<-chan error
	for _, g := range []string{"cpu", "cpu", "gpu", "gpu"} {
		errcs = append(errcs, nextAsync(context.Background(), b, g))
	}
	time.Sleep(10 * time.Millisecond) // let them park (not required)
	b.Close()
	for i, errc := range errcs {
		select {
		case err := <-errc:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("worker %d: %v", i, err)
			}
		case <-time.After(liveness):
			t.Fatalf("worker %d not woken by Close", i)
		}
	}
	if s := b.Stats(); s.Batches != 1 || s.Reasons[ReasonDrain] != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestStatsAndOnBatch(t *testing.T) {
	var got []BatchStats
	cfg := static(4, 0, 2)
	cfg.OnBatch = func(s BatchStats) { got = append(got, s) }
	b, _ := newBatcher(t, cfg, "cpu", "gpu")
	submit(t, b, reqs(4, 2, 1)...)
	for _, g := range []string{"gpu", "cpu"} {
		ctx, cancel := context.WithTimeout(context.Background(), liveness)
		batch, err := b.Next(ctx, g)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if s := b.Stats(); s.InFlight != 1 {
			t.Errorf("in flight %d, want 1", s.InFlight)
		}
		b.Done(batch, 3*time.Millisecond)
	}
	want := []BatchStats{
		{Group: "gpu", Rows: 4, Parts: 1, Reason: ReasonFull, Compute: 3 * time.Millisecond},
		{Group: "cpu", Rows: 3, Parts: 2, Reason: ReasonWindow, Compute: 3 * time.Millisecond},
	}
	for i := range want {
		if i >= len(got) {
			t.Fatalf("OnBatch got %d batches, want %d", len(got), len(want))
		}
		got[i].OldestWait = 0
		if got[i] != want[i] {
			t.Errorf("OnBatch %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	s := b.Stats()
	if s.Submitted != 3 || s.Batches != 2 || s.Reasons[ReasonFull] != 1 || s.Reasons[ReasonWindow] != 1 ||
		s.InFlight != 0 || s.QueueDepth != 0 {
		t.Errorf("stats %+v", s)
	}
	// Sizes 3 and 4 fall in the (2,4] bucket; compute 3ms in (2.5ms, 5ms].
	if s.Size.Count != 2 || s.Size.Sum != 7 || s.Size.Counts[2] != 2 || s.Size.Mean() != 3.5 {
		t.Errorf("size histogram %+v", s.Size)
	}
	if s.Compute.Count != 2 || s.Compute.Counts[6] != 2 || s.QueueDelay.Count != 2 {
		t.Errorf("compute %+v / queue delay %+v", s.Compute, s.QueueDelay)
	}
	if j, err := json.Marshal(s.Reasons); err != nil || string(j) != `{"full":1,"window":1}` {
		t.Errorf("reasons as JSON: %s, %v", j, err)
	}
	if len(s.Groups) != 2 || s.Groups[1].Name != "gpu" || s.Groups[1].Policy != "static" || s.Groups[1].Target != 4 {
		t.Errorf("groups %+v", s.Groups)
	}
}

// TestParkedWorkersWake: idle workers of two groups park; arrivals wake
// them, and items a batch leaves behind reach another group's worker
// without a further arrival.
func TestParkedWorkersWake(t *testing.T) {
	b, _ := newBatcher(t, static(4, farWindow), "cpu", "gpu")
	got := make(chan Batch[*testReq], 8)
	ctx, cancel := context.WithCancel(context.Background())
	var errcs []<-chan error
	for _, g := range []string{"cpu", "cpu", "gpu"} {
		errc := make(chan error, 1)
		go func() {
			for {
				batch, err := b.Next(ctx, g)
				if err != nil {
					errc <- err
					return
				}
				got <- batch // not Done: the worker stays busy
				<-ctx.Done()
			}
		}()
		errcs = append(errcs, errc)
	}
	time.Sleep(10 * time.Millisecond) // let them park (not required)
	submit(t, b, &testReq{id: 1, rows: 12, key: 7})
	rows := 0
	for range 3 {
		select {
		case batch := <-got:
			rows += batch.Rows
		case <-time.After(liveness):
			t.Fatalf("after %d rows, no worker took the rest", rows)
		}
	}
	if rows != 12 {
		t.Fatalf("%d rows handed out, want 12", rows)
	}
	cancel()
	for i, errc := range errcs {
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("worker %d: %v", i, err)
		}
	}
}
