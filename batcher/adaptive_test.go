package batcher

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

const us = time.Microsecond

// Synthetic costs: mlp is about mlp-large under ONNX Runtime on two
// cores (small fixed cost); fixed has a large per-call fixed cost, as on
// an accelerator.
var (
	mlpCost   = linear(70*us, 10*us)
	fixedCost = linear(5*ms, 50*us)
)

// trained returns an adaptive policy whose fit has learnt cost from
// batches of every size.
func trained(t *testing.T, cost func(int) time.Duration, target time.Duration) *adaptivePolicy {
	t.Helper()
	p := newAdaptivePolicy(64, target)
	for i := range 64 {
		n := 1 + i*37%64
		p.observe(n, 0, cost(n))
	}
	if !p.fit.ok {
		t.Fatal("fit not trusted after 64 exact samples")
	}
	return p
}

func TestAdaptiveDecide(t *testing.T) {
	// Nothing learnt yet: work-conserving.
	p := newAdaptivePolicy(64, 50*ms)
	if d := p.decide(state{items: 1, rate: 1e5, clumped: 1e5}); d != (decision{dispatch: true, reason: ReasonAdaptive, size: 1}) {
		t.Errorf("untrained, 1 row: %+v, want it at once", d)
	}
	if d := p.decide(state{items: 70, rate: 1e5}); d != (decision{dispatch: true, reason: ReasonFull, size: 64}) {
		t.Errorf("70 rows: %+v, want a full batch", d)
	}

	// Large fixed cost, moderate load: waiting merges rows that would
	// each need their own 5ms batch.
	p = trained(t, fixedCost, 50*ms)
	d := p.decide(state{now: 10 * ms, oldest: 0, items: 1, rate: 2000, clumped: 2000})
	if d.dispatch || d.wait < ms || d.wait > fixedCost(1) {
		t.Fatalf("fixed cost, 1 row at 2000/s: %+v, want a wait of a few ms, at most c(1)", d)
	}
	if g := p.snapshot(); g.Policy != "adaptive-model" || g.Target < 3 || g.Window < d.wait {
		t.Errorf("snapshot while waiting: %+v", g)
	}
	// Rows came, and the wait ran out: it paid.
	end := p.eps[0].until
	d = p.decide(state{now: end, oldest: end - 10*ms, items: 6, rate: 2000, clumped: 2000})
	if !d.dispatch || d.size != 6 || d.reason != ReasonWindow || p.paid != 1 || p.credit != 1 {
		t.Errorf("after the wait, 6 rows: %+v paid %d credit %v", d, p.paid, p.credit)
	}
	// Enough rows queued: at once.
	if d := p.decide(state{now: 20 * ms, items: 30, rate: 2000, clumped: 2000}); !d.dispatch || d.size != 30 {
		t.Errorf("fixed cost, 30 rows: %+v, want them at once", d)
	}
	// No room in the latency target for a wait.
	if d := p.decide(state{now: 30 * ms, oldest: 45 * ms, items: 1, rate: 2000, clumped: 2000}); !d.dispatch {
		t.Errorf("1 row, 45ms old of a 50ms target: %+v, want it at once", d)
	}

	// The interactive and the bulk head each have their own wait: asking
	// about one does not restart the other's.
	p = trained(t, fixedCost, 50*ms)
	in := state{now: 100 * ms, items: 1, rate: 2000, clumped: 2000}
	bulk := state{now: 100 * ms, oldest: 3 * ms, items: 1, bulkOnly: true, rate: 2000, clumped: 2000}
	if d1, d2 := p.decide(in), p.decide(bulk); d1.dispatch || d2.dispatch {
		t.Fatalf("interactive %+v, bulk %+v: want both to wait", d1, d2)
	}
	in.now, in.oldest = p.eps[0].until, p.eps[0].until-in.now
	bulk.now, bulk.oldest = in.now, bulk.oldest+in.oldest
	if d1, d2 := p.decide(in), p.decide(bulk); !d1.dispatch || !d2.dispatch || d1.reason != ReasonWindow {
		t.Errorf("at the end of their waits: interactive %+v, bulk %+v, want both to leave", d1, d2)
	}

	// Small fixed cost: gathering rows takes longer than the batch it
	// would save, so no wait; for a single row, a short one.
	p = trained(t, mlpCost, 50*ms)
	for _, q := range []int{8, 32} {
		if d := p.decide(state{items: q, rate: 40000, clumped: 40000}); !d.dispatch || d.size != q {
			t.Errorf("mlp cost, %d rows at 40000/s: %+v, want them at once", q, d)
		}
	}
	if d := p.decide(state{now: time.Second, items: 1, rate: 40000, clumped: 40000}); !d.dispatch && d.wait > 42*us {
		t.Errorf("mlp cost, 1 row at 40000/s: %+v, want at most 0.6 of the 70µs fixed cost", d)
	}
	// A late wake-up costs as much as the wait: with a lag of 50µs
	// even a single row goes at once.
	p.eps[0], p.lag = waitEpisode{}, 50e-6
	if d := p.decide(state{now: 2 * time.Second, items: 1, rate: 40000, clumped: 40000}); !d.dispatch {
		t.Errorf("mlp cost, 50µs wake-up lag: %+v, want the row at once", d)
	}
}

// TestAdaptiveWastedWaits: waits whose rows never come halve the credit
// until the policy stops waiting; it tries again now and then.
func TestAdaptiveWastedWaits(t *testing.T) {
	p := trained(t, fixedCost, 50*ms)
	now, waits := time.Duration(0), 0
	for i := range 200 {
		d := p.decide(state{now: now, items: 1, rate: 2000, clumped: 2000})
		if !d.dispatch {
			waits++
			now += d.wait
			d = p.decide(state{now: now, oldest: d.wait, items: 1, rate: 2000, clumped: 2000})
			if !d.dispatch || d.reason != ReasonWindow {
				t.Fatalf("batch %d: nothing came and the wait ran out: %+v", i, d)
			}
		}
		p.observe(1, 0, fixedCost(1))
		now += fixedCost(1)
	}
	if p.paid != 0 || p.wasted != waits || waits > 8 {
		t.Errorf("%d waits in 200 batches, %d paid, %d wasted: want a few, all wasted", waits, p.paid, p.wasted)
	}
	// A missed target halves the credit too.
	p.credit = 1
	p.observe(8, 45*ms, 10*ms)
	if p.credit != 0.5 {
		t.Errorf("credit %v after a batch over target, want 0.5", p.credit)
	}
}

// TestAdaptiveClosedLoopSingleClient: one client waits for each answer,
// so nothing arrives while its row waits. The policy must not wait, even
// when the rate meter says rows come fast (as right after a burst).
func TestAdaptiveClosedLoopSingleClient(t *testing.T) {
	for name, cost := range map[string]func(int) time.Duration{"mlp": mlpCost, "fixed": fixedCost} {
		for _, lying := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(1, 1))
			wc := &sim{pol: workConserving(64), cost: cost}
			wc.closed(t, 1, exponential(rng, 50*us), time.Second)
			p := newAdaptivePolicy(64, 50*ms)
			if lying {
				p = trained(t, cost, 50*ms)
			}
			s := &sim{pol: p, cost: cost}
			if lying {
				s.rate = func(int64) float64 { return 50000 }
			}
			rng = rand.New(rand.NewPCG(1, 1))
			s.closed(t, 1, exponential(rng, 50*us), time.Second)
			t.Logf("%s lying=%v: %.0f rows/s (work-conserving %.0f), idle %v, p99 %v, %d waits wasted",
				name, lying, s.throughput(), wc.throughput(), s.idle, quantile(s.latency, 0.99), p.wasted)
			if s.throughput() < 0.97*wc.throughput() || s.idle > time.Duration(s.end)/50 {
				t.Errorf("%s lying=%v: %.0f rows/s against %.0f work-conserving, idle %v",
					name, lying, s.throughput(), wc.throughput(), s.idle)
			}
			if m := slices.Max(s.oldest); m > cost(1) {
				t.Errorf("%s lying=%v: a row waited %v, more than a batch of 1 takes", name, lying, m)
			}
		}
	}
}

// TestAdaptiveHighLoad: with more rows than a batch holds always waiting,
// every batch is full.
func TestAdaptiveHighLoad(t *testing.T) {
	for name, cost := range map[string]func(int) time.Duration{"mlp": mlpCost, "fixed": fixedCost} {
		p := newAdaptivePolicy(64, 50*ms)
		s := &sim{pol: p, cost: cost}
		s.closed(t, 256, exponential(rand.New(rand.NewPCG(2, 2)), 50*us), time.Second)
		full := 0
		for _, n := range s.sizes {
			if n == 64 {
				full++
			}
		}
		t.Logf("%s: %d batches, %d full, reasons %v", name, len(s.sizes), full, s.reasons)
		if full < len(s.sizes)*95/100 {
			t.Errorf("%s: %d of %d batches full", name, full, len(s.sizes))
		}
	}
	// Open loop over capacity (64 rows per 8.2ms is 7800 rows/s).
	p := trained(t, fixedCost, time.Second)
	s := &sim{pol: p, cost: fixedCost}
	s.run(t, poisson(rand.New(rand.NewPCG(3, 3)), 9000, time.Second))
	if mid := s.sizes[len(s.sizes)/4 : len(s.sizes)-1]; slices.Min(mid) != 64 {
		t.Errorf("overload: batch sizes after warm-up %v, want all 64", mid)
	}
}

// TestAdaptiveSharedCores: an instance on the front end's own cores
// (Config.SharedCores) loses nothing while it waits, since those cores read
// the rows meanwhile, so it waits for rows a dedicated instance would not,
// and a wait longer than the fixed cost still counts as paid when rows came.
func TestAdaptiveSharedCores(t *testing.T) {
	// mlp-compute on one core: ~0.85ms fixed, 72µs a row; 13 rows queued,
	// the front end reading one every 40µs.
	cost := linear(850*us, 72*us)
	s := state{now: 10 * ms, oldest: 100 * us, items: 13, rate: 25000, clumped: 25000}
	dedicated, shared := trained(t, cost, 50*ms), trained(t, cost, 50*ms)
	shared.shared = true
	dd, ds := dedicated.decide(s), shared.decide(s)
	if ds.dispatch || ds.wait <= 0 {
		t.Fatalf("shared cores, 13 rows arriving every 40µs: %+v, want a wait", ds)
	}
	if !dd.dispatch && shared.lastN <= dedicated.lastN {
		t.Errorf("shared cores aim at %d rows, a dedicated instance at %d: want more", shared.lastN, dedicated.lastN)
	}
	// The rows came, after longer than the fixed cost: paid on shared cores.
	end := s.now + 2*ms
	shared.settle(&shared.eps[0], end, 30)
	if shared.paid != 1 || shared.wasted != 0 {
		t.Errorf("shared cores, 2ms wait that brought 17 rows: paid %d wasted %d, want paid", shared.paid, shared.wasted)
	}
}
