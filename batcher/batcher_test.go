package batcher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// liveness bounds how long a test waits for something that must happen
// eventually (a wake-up). It guards against hangs; it asserts no speed.
const liveness = 10 * time.Second

// testReq is the Request the tests batch.
type testReq struct {
	id   int
	rows int
	key  uint64
	prio Priority
	ctx  context.Context
}

func (r *testReq) Rows() int                { return r.rows }
func (r *testReq) Key() uint64              { return r.key }
func (r *testReq) Context() context.Context { return r.ctx }
func (r *testReq) Priority() Priority       { return r.prio }

func (r *testReq) String() string { return fmt.Sprintf("r%d", r.id) }

// dropLog collects OnDrop reports.
type dropLog struct {
	mu   sync.Mutex
	reqs []*testReq
	errs []error
}

func (d *dropLog) onDrop(r *testReq, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reqs = append(d.reqs, r)
	d.errs = append(d.errs, err)
}

func (d *dropLog) snapshot() ([]*testReq, []error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*testReq(nil), d.reqs...), append([]error(nil), d.errs...)
}

// farWindow is a window no test waits out.
const farWindow = time.Hour

func newBatcher(t *testing.T, cfg Config[*testReq], groups ...string) (*Batcher[*testReq], *dropLog) {
	t.Helper()
	log := &dropLog{}
	if cfg.OnDrop == nil {
		cfg.OnDrop = log.onDrop
	}
	if len(groups) == 0 {
		groups = []string{"cpu"}
	}
	b, err := New(cfg, groups...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(b.Close)
	return b, log
}

func submit(t *testing.T, b *Batcher[*testReq], reqs ...*testReq) {
	t.Helper()
	for _, r := range reqs {
		if err := b.Submit(r); err != nil {
			t.Fatalf("Submit(%v): %v", r, err)
		}
	}
}

// next is Next with a liveness bound; the batch is marked Done at once
// (the batcher reuses Parts after Done, so the caller gets a copy).
func next(t *testing.T, b *Batcher[*testReq], group string) Batch[*testReq] {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), liveness)
	defer cancel()
	batch, err := b.Next(ctx, group)
	if err != nil {
		t.Fatalf("Next(%s): %v", group, err)
	}
	out := batch
	out.Parts = slices.Clone(batch.Parts)
	b.Done(batch, time.Millisecond)
	return out
}

// nothingFor checks that no batch is dispatched within d.
func nothingFor(t *testing.T, b *Batcher[*testReq], d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if batch, err := b.Next(ctx, "cpu"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next = %s, %v; want nothing dispatched", show(batch), err)
	}
}

// show renders a batch as "reason rows: r1[0:3] r2[0:5]".
func show(b Batch[*testReq]) string {
	var s strings.Builder
	fmt.Fprintf(&s, "%v %d:", b.Reason, b.Rows)
	for _, p := range b.Parts {
		fmt.Fprintf(&s, " %v[%d:%d]", p.Req, p.Offset, p.Offset+p.Rows)
	}
	return s.String()
}

func wantBatch(t *testing.T, got Batch[*testReq], want string) {
	t.Helper()
	if show(got) != want {
		t.Fatalf("batch %q, want %q", show(got), want)
	}
}

func reqs(rows ...int) []*testReq {
	out := make([]*testReq, len(rows))
	for i, n := range rows {
		out[i] = &testReq{id: i + 1, rows: n, key: 7}
	}
	return out
}

func static(maxBatch int, window time.Duration, preferred ...int) Config[*testReq] {
	return Config[*testReq]{Mode: ModeStatic, MaxBatch: maxBatch, MaxQueueDelay: window, Preferred: preferred}
}

func TestNewValidates(t *testing.T) {
	drop := func(*testReq, error) {}
	for _, tc := range []struct {
		cfg    Config[*testReq]
		groups []string
		want   string
	}{
		{Config[*testReq]{Mode: ModeStatic, MaxBatch: 8}, []string{"cpu"}, "OnDrop is required"},
		{Config[*testReq]{MaxBatch: -1, OnDrop: drop}, []string{"cpu"}, "MaxBatch -1"},
		{Config[*testReq]{MaxQueueDelay: -1, OnDrop: drop}, []string{"cpu"}, "MaxQueueDelay"},
		{Config[*testReq]{QueueSize: -1, OnDrop: drop}, []string{"cpu"}, "QueueSize -1"},
		{Config[*testReq]{Mode: 9, OnDrop: drop}, []string{"cpu"}, "unknown mode"},
		{Config[*testReq]{Mode: ModeStatic, MaxBatch: 8, Preferred: []int{9}, OnDrop: drop}, []string{"cpu"}, "preferred size 9"},
		{Config[*testReq]{OnDrop: drop}, nil, "no device group"},
		{Config[*testReq]{OnDrop: drop}, []string{"cpu", "cpu"}, `"cpu" is empty or repeated`},
	} {
		if _, err := New(tc.cfg, tc.groups...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v, %q) = %v, want error with %q", tc.cfg, tc.groups, err, tc.want)
		}
	}
	if m, err := ParseMode("adaptive"); m != ModeAdaptive || err != nil {
		t.Errorf("ParseMode(adaptive) = %v, %v", m, err)
	}
	if _, err := ParseMode("eager"); err == nil {
		t.Error("ParseMode(eager) succeeded")
	}
}

func TestItemsCountedNotRequests(t *testing.T) {
	b, _ := newBatcher(t, static(8, farWindow))
	r := reqs(3, 3, 2, 5, 3)
	submit(t, b, r[0], r[1], r[2])
	wantBatch(t, next(t, b, "cpu"), "full 8: r1[0:3] r2[0:3] r3[0:2]")
	submit(t, b, r[3])
	nothingFor(t, b, 20*time.Millisecond) // 5 of 8 items: wait for more
	submit(t, b, r[4])
	wantBatch(t, next(t, b, "cpu"), "full 8: r4[0:5] r5[0:3]")
}

func TestKeySeparation(t *testing.T) {
	b, _ := newBatcher(t, static(4, farWindow))
	a1, b1, a2, b2 := &testReq{id: 1, rows: 2, key: 1}, &testReq{id: 2, rows: 2, key: 2},
		&testReq{id: 3, rows: 2, key: 1}, &testReq{id: 4, rows: 2, key: 2}
	submit(t, b, a1, b1, a2, b2)
	wantBatch(t, next(t, b, "cpu"), "full 4: r1[0:2] r3[0:2]")
	wantBatch(t, next(t, b, "cpu"), "full 4: r2[0:2] r4[0:2]")

	// A head still filling does not hold back another key's full batch,
	// and keeps its place: it is not merged with other keys.
	b3, a3 := &testReq{id: 5, rows: 1, key: 2}, &testReq{id: 6, rows: 1, key: 1}
	submit(t, b, b3, a3)
	nothingFor(t, b, 20*time.Millisecond)
	a4 := &testReq{id: 7, rows: 3, key: 1}
	submit(t, b, a4)
	wantBatch(t, next(t, b, "cpu"), "full 4: r6[0:1] r7[0:3]")
	b4 := &testReq{id: 8, rows: 3, key: 2}
	submit(t, b, b4)
	wantBatch(t, next(t, b, "cpu"), "full 4: r5[0:1] r8[0:3]")
}

// TestOtherKeyNotStarved keeps a key's batches full while another key's
// lone request waits: the window still dispatches it.
func TestOtherKeyNotStarved(t *testing.T) {
	const window = 30 * time.Millisecond
	b, _ := newBatcher(t, static(4, window))
	lone := &testReq{id: 0, rows: 1, key: 2}
	submit(t, b, lone)
	deadline := time.Now().Add(liveness)
	for id := 1; time.Now().Before(deadline); id++ {
		submit(t, b, &testReq{id: id, rows: 4, key: 1})
		batch := next(t, b, "cpu")
		if batch.Parts[0].Req == lone {
			wantBatch(t, batch, "window 1: r0[0:1]")
			if batch.OldestWait < window {
				t.Fatalf("dispatched after %v, before its window", batch.OldestWait)
			}
			return
		}
	}
	t.Fatal("the other key's request was starved")
}

func TestSplitLargeRequest(t *testing.T) {
	b, _ := newBatcher(t, static(8, farWindow))
	r := reqs(21, 3, 4)
	submit(t, b, r...)
	wantBatch(t, next(t, b, "cpu"), "full 8: r1[0:8]")
	wantBatch(t, next(t, b, "cpu"), "full 8: r1[8:16]")
	wantBatch(t, next(t, b, "cpu"), "full 8: r1[16:21] r2[0:3]")
	nothingFor(t, b, 20*time.Millisecond)
	b.Close()
	wantBatch(t, next(t, b, "cpu"), "drain 4: r3[0:4]")
}

func TestPreferredSize(t *testing.T) {
	b, _ := newBatcher(t, static(16, farWindow, 8, 4))
	r := reqs(4, 3, 1, 6, 1, 1)
	submit(t, b, r[0])
	wantBatch(t, next(t, b, "cpu"), "preferred 4: r1[0:4]")
	submit(t, b, r[1])
	nothingFor(t, b, 20*time.Millisecond)
	submit(t, b, r[2])
	wantBatch(t, next(t, b, "cpu"), "preferred 4: r2[0:3] r3[0:1]")
	submit(t, b, r[3], r[4]) // 7: not preferred, wait
	nothingFor(t, b, 20*time.Millisecond)
	submit(t, b, r[5])
	wantBatch(t, next(t, b, "cpu"), "preferred 8: r4[0:6] r5[0:1] r6[0:1]")
}

func TestWindowExpiry(t *testing.T) {
	const window = 40 * time.Millisecond
	b, _ := newBatcher(t, static(16, window))
	start := time.Now()
	submit(t, b, reqs(3, 2)...)
	batch := next(t, b, "cpu")
	wantBatch(t, batch, "window 5: r1[0:3] r2[0:2]")
	if el := time.Since(start); el < window || batch.OldestWait < window {
		t.Fatalf("dispatched after %v (oldest wait %v), before the %v window", el, batch.OldestWait, window)
	}
}

func TestOffMode(t *testing.T) {
	for name, cfg := range map[string]Config[*testReq]{
		"off":         {Mode: ModeOff, MaxBatch: 8, MaxQueueDelay: farWindow},
		"maxbatch=1":  static(1, farWindow),
		"maxbatch=0":  {Mode: ModeAdaptive, MaxQueueDelay: farWindow},
		"interactive": {Mode: ModeOff},
	} {
		t.Run(name, func(t *testing.T) {
			b, _ := newBatcher(t, cfg)
			r := reqs(5, 1, 12)
			r[1].key = 99
			submit(t, b, r...)
			wantBatch(t, next(t, b, "cpu"), "unbatched 5: r1[0:5]")
			wantBatch(t, next(t, b, "cpu"), "unbatched 1: r2[0:1]")
			wantBatch(t, next(t, b, "cpu"), "unbatched 12: r3[0:12]")
			if g := b.Stats().Groups[0]; g.Policy != "off" || g.Target != 1 {
				t.Errorf("group stats %+v", g)
			}
		})
	}
}

func TestQueueFull(t *testing.T) {
	cfg := static(8, farWindow)
	cfg.QueueSize = 3
	b, _ := newBatcher(t, cfg)
	r := reqs(5, 5, 5, 1)
	r[3].prio = Bulk // the bound counts both priorities
	submit(t, b, r[:3]...)
	if err := b.Submit(r[3]); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Submit into a full queue: %v, want ErrQueueFull", err)
	}
	if s := b.Stats(); s.Rejected != 1 || s.QueueDepth != 3 || s.QueueRows != 15 {
		t.Fatalf("stats %+v", s)
	}
	wantBatch(t, next(t, b, "cpu"), "full 8: r1[0:5] r2[0:3]")
	if err := b.Submit(r[3]); err != nil { // r1 left the queue
		t.Fatalf("Submit after a batch: %v", err)
	}
	if s := b.Stats(); s.QueueDepth != 3 || s.QueueRows != 2+5+1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestSubmitRejects(t *testing.T) {
	b, _ := newBatcher(t, static(8, farWindow))
	if err := b.Submit(&testReq{rows: 0}); !errors.Is(err, ErrNoRows) {
		t.Errorf("Submit(0 rows) = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Submit(&testReq{rows: 1, ctx: ctx}); !errors.Is(err, context.Canceled) {
		t.Errorf("Submit(cancelled) = %v", err)
	}
	if _, err := b.Next(context.Background(), "gpu"); !errors.Is(err, ErrUnknownGroup) {
		t.Errorf("Next(gpu) = %v", err)
	}
	if s := b.Stats(); s.Submitted != 0 || s.QueueDepth != 0 {
		t.Errorf("rejected requests were kept: %+v", s)
	}
}
