package batcher

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

const ms = time.Millisecond

func TestStaticDecide(t *testing.T) {
	p := &staticPolicy{max: 16, window: 10 * ms, preferred: []int{4, 8}}
	for _, tc := range []struct {
		s    state
		want decision
	}{
		{state{items: 16}, decision{dispatch: true, reason: ReasonFull, size: 16}},
		{state{items: 40, oldest: time.Hour}, decision{dispatch: true, reason: ReasonFull, size: 16}},
		{state{items: 8, oldest: 0}, decision{dispatch: true, reason: ReasonPreferred, size: 8}},
		{state{items: 4, bulkOnly: true}, decision{dispatch: true, reason: ReasonPreferred, size: 4}},
		{state{items: 5, oldest: 3 * ms}, decision{wait: 7 * ms}},
		{state{items: 5, oldest: 10 * ms}, decision{dispatch: true, reason: ReasonWindow, size: 5}},
		{state{items: 1, oldest: 11 * ms}, decision{dispatch: true, reason: ReasonWindow, size: 1}},
	} {
		if got := p.decide(tc.s); got != tc.want {
			t.Errorf("decide(%+v) = %+v, want %+v", tc.s, got, tc.want)
		}
	}
}

func TestRateMeter(t *testing.T) {
	m := rateMeter{tau: 0.5}
	if m.perSec(0) != 0 {
		t.Fatal("rate before any arrival")
	}
	const gap = int64(time.Second / 1000) // 1000 items/s
	var now int64
	for i := 0; i < 50; i++ {
		m.add(now, 1)
		now += gap
	}
	if r := m.perSec(now); math.Abs(r-1000) > 100 {
		t.Errorf("after 50ms at 1000/s: %.0f items/s", r)
	}
	for i := 0; i < 3000; i++ {
		m.add(now, 2)
		now += gap
	}
	if r := m.perSec(now); math.Abs(r-2000) > 40 {
		t.Errorf("after 3s at 2000/s: %.0f items/s", r)
	}
	if r := m.perSec(now + int64(2*time.Second)); r > 2000*math.Exp(-4)*1.1 {
		t.Errorf("2s idle: %.0f items/s, want decayed", r)
	}
	m.add(now-gap, 1) // out of order: counted, clock does not go back
	if m.last != now-gap {
		t.Errorf("last = %d", m.last)
	}
}

// linear is the synthetic cost a + b·n.
func linear(a, b time.Duration) func(int) time.Duration {
	return func(n int) time.Duration { return a + time.Duration(n)*b }
}

func TestCostFit(t *testing.T) {
	cost := linear(2*ms, 100*time.Microsecond)
	var f costFit
	for i := 0; i < 7; i++ {
		f.add(1+i*9, cost(1+i*9).Seconds())
	}
	if f.ok {
		t.Fatal("fit trusted after 7 samples")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100; i++ {
		n := 1 + rng.IntN(64)
		f.add(n, cost(n).Seconds())
	}
	if !f.ok || math.Abs(f.a-0.002) > 1e-5 || math.Abs(f.b-0.0001) > 1e-7 {
		t.Fatalf("fit ok=%v a=%g b=%g, want a=2ms b=0.1ms", f.ok, f.a, f.b)
	}
	// Same size over and over: the slope cannot be solved for, the last
	// fit is kept while it predicts well...
	for i := 0; i < 500; i++ {
		f.add(30, cost(30).Seconds())
	}
	if !f.ok {
		t.Fatal("fit dropped while it predicts every sample")
	}
	// ...and dropped when the cost changes under it.
	for i := 0; i < 20 && f.ok; i++ {
		f.add(30, 2*cost(30).Seconds())
	}
	if f.ok {
		t.Fatal("fit kept after the cost doubled")
	}
}

func TestCostFitRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for name, cost := range map[string]func(n int) float64{
		"flat":     func(int) float64 { return 0.005 },
		"negative": func(n int) float64 { return 0.010 - 0.0001*float64(n) },
		"noisy": func(n int) float64 {
			return linear(2*ms, 100*time.Microsecond)(n).Seconds() * (1 + 1.8*(rng.Float64()-0.5))
		},
	} {
		var f costFit
		for i := 0; i < 200; i++ {
			n := 1 + rng.IntN(64)
			f.add(n, cost(n))
			if i > 20 && f.ok {
				t.Errorf("%s: fit trusted at sample %d: a=%g b=%g", name, i, f.a, f.b)
				break
			}
		}
	}
}

func TestAIMD(t *testing.T) {
	p := newAdaptivePolicy(64, 4*ms, 50*ms)
	p.observe(8, 10*ms, 10*ms) // 20ms: under target
	if p.aimd != 5*ms {
		t.Fatalf("additive increase: %v, want 5ms", p.aimd)
	}
	p.observe(8, 40*ms, 20*ms) // 60ms: over
	if p.aimd != 2500*time.Microsecond {
		t.Fatalf("multiplicative decrease: %v, want 2.5ms", p.aimd)
	}
	for i := 0; i < 100; i++ {
		p.observe(8, 0, ms)
	}
	if p.aimd != 50*ms {
		t.Fatalf("window grew to %v, want capped at the 50ms target", p.aimd)
	}
	if d := p.decide(state{items: 10, oldest: 20 * ms, rate: 1000}); d.dispatch || d.wait != 30*ms {
		t.Fatalf("AIMD decide: %+v, want wait 30ms for MaxBatch", d)
	}
	if g := p.snapshot(); g.Policy != "adaptive-aimd" || g.Target != 64 || g.Window != 50*ms {
		t.Fatalf("snapshot %+v", g)
	}
	if p := newAdaptivePolicy(8, 0, 50*ms); p.aimd != 5*ms {
		t.Fatalf("default start window %v", p.aimd)
	}
}

// sim runs an adaptive policy against one worker on a fake clock: one-row
// requests arrive at rate per second (evenly, or Poisson), the worker asks
// for a batch whenever it is idle and at every arrival, and a batch of n
// costs cost(n). It returns each batch's size and latency (oldest item's
// queue delay plus compute).
type sim struct {
	p        *adaptivePolicy
	rate     float64
	poisson  bool
	cost     func(n int) time.Duration
	rng      *rand.Rand
	sizes    []int
	latency  []time.Duration
	dispatch [numReasons]int
}

func (s *sim) run(d time.Duration) {
	var arrivals []int64
	for at := 0.0; at < float64(d); {
		gap := 1e9 / s.rate
		if s.poisson {
			gap = s.rng.ExpFloat64() * gap
		}
		at += gap
		arrivals = append(arrivals, int64(at))
	}
	arrivals = append(arrivals, math.MaxInt64)
	meter := rateMeter{tau: 0.5}
	var queue []int64
	for now, next := int64(0), 0; next < len(arrivals)-1 || len(queue) > 0; {
		for arrivals[next] <= now {
			queue = append(queue, arrivals[next])
			meter.add(arrivals[next], 1)
			next++
		}
		if len(queue) == 0 {
			now = arrivals[next]
			continue
		}
		dec := s.p.decide(state{oldest: time.Duration(now - queue[0]), items: len(queue), rate: meter.perSec(now)})
		if !dec.dispatch {
			now = min(now+int64(dec.wait), arrivals[next])
			continue
		}
		n := min(dec.size, len(queue))
		wait, c := time.Duration(now-queue[0]), s.cost(n)
		s.p.observe(n, wait, c)
		s.sizes, s.latency = append(s.sizes, n), append(s.latency, wait+c)
		s.dispatch[dec.reason]++
		queue, now = queue[n:], now+int64(c)
	}
}

func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	return s[int(q*float64(len(s)-1))]
}

func mean(xs []int) float64 {
	sum := 0
	for _, x := range xs {
		sum += x
	}
	return float64(sum) / float64(len(xs))
}

// TestAdaptiveConverges: with c(n) = 2ms + 0.1ms·n, 2000 items/s and a
// 20ms target, the largest n with (n-1)/λ + c(n) <= 20ms is 30, filled in
// 15ms.
func TestAdaptiveConverges(t *testing.T) {
	const target = 20 * ms
	for _, poisson := range []bool{false, true} {
		s := &sim{p: newAdaptivePolicy(64, 2*ms, target), rate: 2000, poisson: poisson,
			cost: linear(2*ms, 100*time.Microsecond), rng: rand.New(rand.NewPCG(5, 6))}
		s.run(10 * time.Second)
		g := s.p.snapshot()
		t.Logf("poisson=%v: %+v, %d batches, reasons %v", poisson, g, len(s.sizes), s.dispatch)
		if g.Policy != "adaptive-model" || g.Target < 28 || g.Target > 32 {
			t.Errorf("poisson=%v: policy %s target %d, want the model's 30", poisson, g.Policy, g.Target)
		}
		if g.Window < 12*ms || g.Window > 15*ms {
			t.Errorf("poisson=%v: window %v, want about 15ms", poisson, g.Window)
		}
		if math.Abs(g.CostFixed.Seconds()-0.002) > 1e-4 || math.Abs(g.CostPerItem.Seconds()-1e-4) > 5e-6 {
			t.Errorf("poisson=%v: fitted c(n) = %v + %v·n", poisson, g.CostFixed, g.CostPerItem)
		}
		half := len(s.sizes) / 2
		if m := mean(s.sizes[half:]); m < 24 || m > 31 {
			t.Errorf("poisson=%v: mean batch %.1f, want about 30", poisson, m)
		}
		if p99 := quantile(s.latency[half:], 0.99); p99 > target {
			t.Errorf("poisson=%v: p99 latency %v over the %v target", poisson, p99, target)
		}
	}
}

func TestAdaptiveBulkPlan(t *testing.T) {
	s := &sim{p: newAdaptivePolicy(64, 2*ms, 20*ms), rate: 2000, cost: linear(2*ms, 100*time.Microsecond)}
	s.run(2 * time.Second)
	n, w := s.p.plan(2000, false)
	nb, wb := s.p.plan(2000, true)
	if n != 30 || nb != 64 || wb < w || wb > 20*ms {
		t.Fatalf("interactive plan %d/%v, bulk plan %d/%v", n, w, nb, wb)
	}
	if n, _ := s.p.plan(0, false); n != 1 {
		t.Fatalf("no arrivals: target %d, want 1 (no point waiting)", n)
	}
}

// TestAdaptiveFallsBackToAIMD: a flat or noisy cost gives no trusted fit;
// the policy runs AIMD on the window and still keeps most batches in the
// target.
func TestAdaptiveFallsBackToAIMD(t *testing.T) {
	const target = 20 * ms
	rng := rand.New(rand.NewPCG(7, 8))
	for name, cost := range map[string]func(int) time.Duration{
		"flat": func(int) time.Duration { return 5 * ms },
		"noisy": func(n int) time.Duration {
			return time.Duration(float64(linear(2*ms, 100*time.Microsecond)(n)) * (0.1 + 1.8*rng.Float64()))
		},
	} {
		s := &sim{p: newAdaptivePolicy(64, 2*ms, target), rate: 2000, poisson: true, cost: cost, rng: rng}
		s.run(10 * time.Second)
		g := s.p.snapshot()
		over := 0
		for _, l := range s.latency {
			if l > target {
				over++
			}
		}
		t.Logf("%s: %+v, %d batches, %d over target, reasons %v", name, g, len(s.latency), over, s.dispatch)
		if g.Policy != "adaptive-aimd" || s.p.fit.ok || g.Target != 64 {
			t.Errorf("%s: policy %+v, want AIMD", name, g)
		}
		if g.Window <= 0 || g.Window > target {
			t.Errorf("%s: window %v out of (0, %v]", name, g.Window, target)
		}
		if frac := float64(over) / float64(len(s.latency)); frac > 0.25 {
			t.Errorf("%s: %.0f%% of batches over target", name, 100*frac)
		}
	}
}
