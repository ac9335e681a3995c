package batcher

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// TestBulkShareWhileInteractiveArrives runs one worker that "computes"
// each batch for 2ms. With interactive requests arriving, bulk batches
// take about BulkShare of its time; once they stop, bulk takes it all.
func TestBulkShareWhileInteractiveArrives(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about two seconds")
	}
	b, err := New(Config[*testReq]{Mode: ModeStatic, MaxBatch: 4, BulkShare: 0.3, QueueSize: 4096,
		OnDrop: func(*testReq, error) {}}, "cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const compute = 2 * time.Millisecond
	busy := map[Priority]time.Duration{}
	run := func(until time.Time, interactive bool) {
		clear(busy)
		for time.Now().Before(until) {
			for b.Stats().QueueDepth < 64 { // bulk is always waiting
				if err := b.Submit(&testReq{rows: 4, prio: Bulk}); err != nil {
					t.Fatal(err)
				}
			}
			if interactive {
				if err := b.Submit(&testReq{rows: 1, prio: Interactive}); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			batch, err := b.Next(ctx, "cpu")
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			// The compute a batch took is what the sleep took: on a
			// loaded machine it oversleeps, and counting only the 2 ms
			// asked for would shrink both shares with the wall time.
			t0 := time.Now()
			time.Sleep(compute)
			took := time.Since(t0)
			for _, p := range batch.Parts {
				busy[p.Req.Priority()] += took * time.Duration(p.Rows) / time.Duration(batch.Rows)
			}
			b.Done(batch, took)
			if interactive {
				time.Sleep(compute) // interactive arrives, on average, every other batch time
			}
		}
	}
	start := time.Now()
	run(start.Add(time.Second), true)
	wall := time.Since(start)
	share := float64(busy[Bulk]) / float64(wall)
	t.Logf("with interactive traffic: bulk used %.2f of the worker's time (limit 0.3), interactive %.2f; the stats say %.2f",
		share, float64(busy[Interactive])/float64(wall), b.Stats().Groups[0].BulkShare)
	if share > 0.3*1.25 || share < 0.3*0.5 {
		t.Fatalf("bulk took %.2f of the compute time, want about 0.3", share)
	}
	time.Sleep(2 * shareIdle)
	start = time.Now()
	run(start.Add(500*time.Millisecond), false)
	idle := float64(busy[Bulk]) / float64(time.Since(start))
	t.Logf("interactive idle: bulk used %.2f", idle)
	if idle < 0.6 {
		t.Fatalf("with interactive traffic idle, bulk used only %.2f of the time", idle)
	}
}

// TestBulkShareFollowsOtherModels: interactive traffic at another model on
// the same devices (Config.Interactive) holds this batcher's bulk to its
// share, though none of its own requests is interactive.
func TestBulkShareFollowsOtherModels(t *testing.T) {
	var elsewhere atomic.Bool
	b, err := New(Config[*testReq]{Mode: ModeStatic, MaxBatch: 4, BulkShare: 0.5, QueueSize: 64,
		Interactive: elsewhere.Load, OnDrop: func(*testReq, error) {}}, "cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	next := func(within time.Duration) (Batch[*testReq], error) { return nextWithin(b, within) }
	for range 2 {
		if err := b.Submit(&testReq{rows: 4, prio: Bulk}); err != nil {
			t.Fatal(err)
		}
	}
	batch, err := next(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// 200ms of bulk compute: over half of the 250ms window the share is
	// taken of (shareTau, one worker), so the gate holds bulk ~117ms.
	b.Done(batch, 200*time.Millisecond)
	elsewhere.Store(true)
	if _, err := next(30 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("interactive traffic elsewhere, bulk over its share: Next gave %v, want it held (deadline exceeded)", err)
	}
	elsewhere.Store(false)
	if _, err := next(time.Second); err != nil {
		t.Fatalf("interactive traffic quiet everywhere: Next: %v, want the bulk batch", err)
	}
}

// TestShareGateAllocatesNothing: what Done and a leader's step add for the
// fair share costs no allocation.
func TestShareGateAllocatesNothing(t *testing.T) {
	var s shareGate
	parts := []Part[*testReq]{{Req: &testReq{prio: Bulk}, Rows: 3}, {Req: &testReq{prio: Interactive}, Rows: 1}}
	now := int64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		now += int64(time.Millisecond)
		s.dispatched()
		s.done(now, time.Millisecond, bulkRows(parts), 4)
		_ = s.wait(now, 0.5)
		_ = s.got(now)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per batch", allocs)
	}
	if g := s.got(now); g < 0.5 || g > 0.9 {
		t.Fatalf("a worker busy all the time with 3/4 bulk rows: got share %.2f, want about 0.75", g)
	}
}

// fakeTraffic is a Config.Traffic that records when interactive work is
// due, holds bulk while hold is set, and otherwise gives room (ns; < 0:
// none is due).
type fakeTraffic struct {
	hold atomic.Bool
	room atomic.Int64
	due  atomic.Int64 // the last Due, ns
}

func (f *fakeTraffic) Due(wait time.Duration) { f.due.Store(int64(wait)) }
func (f *fakeTraffic) Room() (time.Duration, time.Duration) {
	if f.hold.Load() {
		return 0, time.Millisecond
	}
	return time.Duration(f.room.Load()), 0
}

// Config.Traffic holds a bulk batch within its share while it says so,
// and when the batch would not end (by the compute per row of the batches
// before) in the room it gives; and hears when a parked interactive batch
// is due.
func TestTrafficHoldsBulk(t *testing.T) {
	var elsewhere atomic.Bool
	elsewhere.Store(true) // interactive traffic on the same cores: the gate applies
	tr := &fakeTraffic{}
	tr.room.Store(-1)
	b, err := New(Config[*testReq]{Mode: ModeStatic, MaxBatch: 4, MaxQueueDelay: 50 * time.Millisecond, BulkShare: 0.9,
		QueueSize: 64, Interactive: elsewhere.Load, Traffic: tr, SharedCores: []string{"cpu"}, OnDrop: func(*testReq, error) {}}, "cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	next := func(within time.Duration) (Batch[*testReq], error) { return nextWithin(b, within) }
	for range 3 {
		if err := b.Submit(&testReq{rows: 4, prio: Bulk}); err != nil {
			t.Fatal(err)
		}
	}
	batch, err := next(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b.Done(batch, 400*time.Microsecond) // 100 µs a row
	tr.hold.Store(true)
	if _, err := next(trafficMaxHold / 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Traffic holding bulk: Next gave %v, want it held", err)
	}
	// Held no longer than trafficMaxHold since the last bulk batch: a job
	// moves even when interactive work never leaves room.
	if batch, err := next(time.Second); err != nil {
		t.Fatalf("Traffic holding bulk for good: Next gave %v, want a batch after trafficMaxHold", err)
	} else {
		b.Done(batch, 400*time.Microsecond)
	}
	if err := b.Submit(&testReq{rows: 4, prio: Bulk}); err != nil {
		t.Fatal(err)
	}
	tr.hold.Store(false)
	tr.room.Store(int64(300 * time.Microsecond)) // under the 4-row batch's 400µs: held
	if _, err := next(trafficMaxHold / 4); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("room for 3 of 4 rows: Next gave %v, want it held", err)
	}
	tr.room.Store(int64(500 * time.Microsecond))
	if batch, err := next(time.Second); err != nil || batch.Rows != 4 {
		t.Fatalf("room for the batch: got %d rows, %v; want a batch of 4", batch.Rows, err)
	} else {
		b.Done(batch, 400*time.Microsecond)
	}
	tr.room.Store(-1) // nothing due
	if batch, err := next(time.Second); err != nil || batch.Rows != 4 {
		t.Fatalf("nothing due: got %d rows, %v; want 4", batch.Rows, err)
	}

	// An interactive request that waits for its window tells Traffic when
	// its batch is due.
	if err := b.Submit(&testReq{rows: 1, prio: Interactive}); err != nil {
		t.Fatal(err)
	}
	if _, err := next(5 * time.Millisecond); err == nil {
		t.Fatal("an interactive batch of 1 of 4 left before its 50ms window")
	}
	if d := time.Duration(tr.due.Load()); d <= 0 || d > 50*time.Millisecond {
		t.Fatalf("Due was told %v, want the rest of the 50ms window", d)
	}
}

// nextWithin is b.Next for group "cpu", giving up after within.
func nextWithin(b *Batcher[*testReq], within time.Duration) (Batch[*testReq], error) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	return b.Next(ctx, "cpu")
}

// Bulk rows still ride in an interactive batch while Config.Traffic holds
// bulk batches: the interactive batch runs anyway.
func TestTrafficLetsBulkRide(t *testing.T) {
	var elsewhere atomic.Bool
	elsewhere.Store(true)
	tr := &fakeTraffic{}
	tr.hold.Store(true)
	b, err := New(Config[*testReq]{Mode: ModeStatic, MaxBatch: 4, MaxQueueDelay: time.Millisecond, BulkShare: 0.9,
		QueueSize: 64, Interactive: elsewhere.Load, Traffic: tr, SharedCores: []string{"cpu"}, OnDrop: func(*testReq, error) {}}, "cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, r := range []*testReq{{rows: 1, prio: Interactive}, {rows: 4, prio: Bulk}} {
		if err := b.Submit(r); err != nil {
			t.Fatal(err)
		}
	}
	batch, err := nextWithin(b, time.Second)
	if err != nil || batch.Rows != 4 || bulkRows(batch.Parts) != 3 {
		t.Fatalf("got %d rows (%d bulk), %v; want the interactive row and 3 bulk riders", batch.Rows, bulkRows(batch.Parts), err)
	}
}
