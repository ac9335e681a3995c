package batcher

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// load is a way rows arrive in a simulation.
type load func(t *testing.T, s *sim, rng *rand.Rand)

func closedLoop(clients int, think time.Duration) load {
	return func(t *testing.T, s *sim, rng *rand.Rand) {
		s.closed(t, clients, exponential(rng, think), time.Second)
	}
}

func openLoop(rate float64) load {
	return func(t *testing.T, s *sim, rng *rand.Rand) { s.run(t, poisson(rng, rate, time.Second)) }
}

// bursts sends size rows at once every period, over a Poisson background.
func bursts(size int, period time.Duration, background float64) load {
	return func(t *testing.T, s *sim, rng *rand.Rand) {
		at := poisson(rng, background, time.Second)
		for b := period / 2; b < time.Second; b += period {
			for range size {
				at = append(at, int64(b))
			}
		}
		slices.Sort(at)
		s.run(t, at)
	}
}

// simulate runs pol under l with a fixed seed.
func simulate(t *testing.T, pol policy, cost func(int) time.Duration, lag time.Duration, l load) *sim {
	s := &sim{pol: pol, cost: cost, lag: lag}
	l(t, s, rand.New(rand.NewPCG(4, 4)))
	return s
}

// bestStatic is what `tiffin tune` would pick: the static setting with the
// most throughput whose p99 meets the target, and among equals (an open
// loop) the lowest p99.
func bestStatic(t *testing.T, cost func(int) time.Duration, lag time.Duration, l load, target time.Duration) (*sim, string) {
	var best *sim
	var name string
	for _, size := range []int{16, 32, 64} {
		for _, w := range []time.Duration{0, 100 * us, 250 * us, 500 * us, ms, 2 * ms, 5 * ms} {
			s := simulate(t, &staticPolicy{max: size, window: w}, cost, lag, l)
			p99 := quantile(s.latency, 0.99)
			if p99 > target {
				continue
			}
			if best == nil || s.throughput() > 1.01*best.throughput() ||
				s.throughput() > 0.99*best.throughput() && p99 < quantile(best.latency, 0.99) {
				best, name = s, fmt.Sprintf("max %d window %v", size, w)
			}
		}
	}
	return best, name
}

// TestAdaptiveAgainstBestStatic: under steady closed and open loops and
// bursts, adaptive mode comes within 10% of the best static setting's
// throughput, with no window set by hand, and keeps p99 in the target.
func TestAdaptiveAgainstBestStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("sweeps static settings")
	}
	const target = 50 * ms
	type scenario struct {
		name string
		cost func(int) time.Duration
		lag  time.Duration
		load load
	}
	var scs []scenario
	for _, c := range []int{1, 4, 16, 64} {
		scs = append(scs,
			scenario{fmt.Sprintf("mlp/closed/%d", c), mlpCost, 0, closedLoop(c, 50*us)},
			scenario{fmt.Sprintf("fixed/closed/%d", c), fixedCost, 0, closedLoop(c, 50*us)})
	}
	scs = append(scs,
		scenario{"mlp/closed/16/lag", mlpCost, 100 * us, closedLoop(16, 50*us)},
		scenario{"fixed/closed/64/lag", fixedCost, 100 * us, closedLoop(64, 50*us)},
		scenario{"mlp/open/40000", mlpCost, 0, openLoop(40000)},
		scenario{"fixed/open/2000", fixedCost, 0, openLoop(2000)},
		scenario{"mlp/bursts", mlpCost, 0, bursts(200, 20*ms, 1000)},
		scenario{"fixed/bursts", fixedCost, 0, bursts(200, 50*ms, 500)})
	for _, sc := range scs {
		p := newAdaptivePolicy(64, target)
		s := simulate(t, p, sc.cost, sc.lag, sc.load)
		best, name := bestStatic(t, sc.cost, sc.lag, sc.load, target)
		p99, bestP99 := quantile(s.latency, 0.99), quantile(best.latency, 0.99)
		t.Logf("%-20s adaptive %6.0f rows/s p99 %-9v mean batch %4.1f (%d waits paid, %d wasted) | best static (%s) %6.0f rows/s p99 %v",
			sc.name, s.throughput(), p99.Round(us), s.meanSize(), p.paid, p.wasted, name, best.throughput(), bestP99.Round(us))
		if s.throughput() < 0.9*best.throughput() {
			t.Errorf("%s: %.0f rows/s, under 90%% of the best static's %.0f", sc.name, s.throughput(), best.throughput())
		}
		if p99 > target {
			t.Errorf("%s: p99 %v over the %v target", sc.name, p99, target)
		}
	}
}

// TestAdaptiveFixedCostWaits: with a large per-call fixed cost at a
// moderate open-loop load, the queue often holds a row or two when the
// worker frees up; waiting a little for more, rather than paying 5ms for
// each, grows the batches and saves compute, within the target.
func TestAdaptiveFixedCostWaits(t *testing.T) {
	const target = 50 * ms
	p := newAdaptivePolicy(64, target)
	s := simulate(t, p, fixedCost, 0, openLoop(500))
	wc := simulate(t, workConserving(64), fixedCost, 0, openLoop(500))
	t.Logf("adaptive: mean batch %.2f, busy %v, p99 %v, %d waits paid, %d wasted; work-conserving: mean batch %.2f, busy %v, p99 %v",
		s.meanSize(), s.busy, quantile(s.latency, 0.99), p.paid, p.wasted, wc.meanSize(), wc.busy, quantile(wc.latency, 0.99))
	if s.meanSize() < 1.08*wc.meanSize() || s.busy > wc.busy*93/100 {
		t.Errorf("batches of %.2f rows and %v busy, against %.2f and %v work-conserving", s.meanSize(), s.busy, wc.meanSize(), wc.busy)
	}
	if p.paid < 2*p.wasted || quantile(s.latency, 0.99) > target {
		t.Errorf("%d waits paid, %d wasted, p99 %v", p.paid, p.wasted, quantile(s.latency, 0.99))
	}
}

// TestAdaptiveBursts: 200 rows at once, then quiet. The burst leaves as
// full batches and its tail at once: the rate meter, fooled by the burst,
// promises rows that never come, but a wait ends when no row came for a
// few gaps at the rate inside the burst (microseconds), so none starts.
func TestAdaptiveBursts(t *testing.T) {
	for name, cost := range map[string]func(int) time.Duration{"mlp": mlpCost, "fixed": fixedCost} {
		p := newAdaptivePolicy(64, 50*ms)
		s := simulate(t, p, cost, 0, bursts(200, 50*ms, 0))
		wc := simulate(t, workConserving(64), cost, 0, bursts(200, 50*ms, 0))
		worst, wcWorst := slices.Max(s.latency), slices.Max(wc.latency)
		t.Logf("%s: worst latency %v (work-conserving %v), sizes %v..., idle %v, %d waits wasted",
			name, worst, wcWorst, s.sizes[:8], s.idle, p.wasted)
		if !slices.Equal(s.sizes[:8], []int{64, 64, 64, 8, 64, 64, 64, 8}) {
			t.Errorf("%s: batch sizes %v, want 64 64 64 8 per burst", name, s.sizes[:8])
		}
		if worst > wcWorst+20*us || s.idle > 20*us*time.Duration(len(s.sizes)) {
			t.Errorf("%s: worst latency %v against %v work-conserving; idle %v", name, worst, wcWorst, s.idle)
		}
	}
}

// TestAdaptiveFallback: without a trusted fit the policy falls back. A
// flat cost (batching is free) is modelled as such, and waiting under the
// AIMD credit merges closed-loop clients' rows into fuller batches; a
// noisy cost gives no basis for waiting: the policy stays within a few
// percent of work-conserving.
func TestAdaptiveFallback(t *testing.T) {
	const target = 50 * ms
	flat := func(int) time.Duration { return 2 * ms }
	for _, clients := range []int{16, 64} {
		p := newAdaptivePolicy(64, target)
		s := simulate(t, p, flat, 0, closedLoop(clients, 50*us))
		wc := simulate(t, workConserving(64), flat, 0, closedLoop(clients, 50*us))
		best, name := bestStatic(t, flat, 0, closedLoop(clients, 50*us), target)
		g := p.snapshot()
		t.Logf("flat, %d clients: %.0f rows/s, mean batch %.1f, %d waits paid, %d wasted; work-conserving %.0f; best static (%s) %.0f",
			clients, s.throughput(), s.meanSize(), p.paid, p.wasted, wc.throughput(), name, best.throughput())
		if g.Policy != "adaptive-aimd" || !p.fit.flat || p.fit.ok {
			t.Errorf("flat, %d clients: %+v flat=%v, want the AIMD fallback on a flat cost", clients, g, p.fit.flat)
		}
		if s.throughput() < 1.3*wc.throughput() || s.throughput() < 0.9*best.throughput() {
			t.Errorf("flat, %d clients: %.0f rows/s against %.0f work-conserving, %.0f best static",
				clients, s.throughput(), wc.throughput(), best.throughput())
		}
	}
	noisy := func() func(int) time.Duration {
		rng := rand.New(rand.NewPCG(5, 5))
		return func(n int) time.Duration { return time.Duration(float64(fixedCost(n)) * (0.2 + 1.6*rng.Float64())) }
	}
	for _, clients := range []int{1, 16, 64} {
		p := newAdaptivePolicy(64, target)
		s := simulate(t, p, noisy(), 0, closedLoop(clients, 50*us))
		wc := simulate(t, workConserving(64), noisy(), 0, closedLoop(clients, 50*us))
		g := p.snapshot()
		t.Logf("noisy, %d clients: %.0f rows/s, p99 %v, %d waits paid, %d wasted; work-conserving %.0f rows/s, p99 %v",
			clients, s.throughput(), quantile(s.latency, 0.99), p.paid, p.wasted, wc.throughput(), quantile(wc.latency, 0.99))
		if g.Policy != "adaptive-aimd" || s.throughput() < 0.97*wc.throughput() || quantile(s.latency, 0.99) > target {
			t.Errorf("noisy, %d clients: %+v, %.0f rows/s against %.0f work-conserving", clients, g, s.throughput(), wc.throughput())
		}
	}
}
