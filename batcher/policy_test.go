package batcher

import (
	"math"
	"math/rand/v2"
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

func TestRateMeterClumped(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	poissonMeter := rateMeter{tau: 0.5}
	if poissonMeter.clumped() != 0 {
		t.Fatal("clumped rate before any gap")
	}
	for _, at := range poisson(rng, 1000, time.Second) {
		poissonMeter.add(at, 2) // requests of 2 rows at 1000/s
	}
	if r := poissonMeter.clumped(); r < 1400 || r > 2800 {
		t.Errorf("Poisson, 2000 rows/s: clumped %.0f rows/s, want about 2000", r)
	}
	// Clumps of 16 requests 2µs apart every 2ms (8000 rows/s on average):
	// the rate inside a clump is what the typical gap shows.
	clumps := rateMeter{tau: 0.5}
	for c := int64(0); c < 500; c++ {
		for i := int64(0); i < 16; i++ {
			clumps.add(c*2e6+i*2000, 1)
		}
	}
	if r := clumps.clumped(); r < 1e5 {
		t.Errorf("clumped arrivals: %.0f rows/s, want far above the 8000/s average", r)
	}
}

func TestCostFitFlat(t *testing.T) {
	var f costFit
	for i := range 40 {
		f.add(1+i%32, 0.002)
	}
	if f.ok || !f.flat {
		t.Fatalf("flat cost: ok=%v flat=%v, want a flat, untrusted fit", f.ok, f.flat)
	}
	for i := range 100 {
		n := 1 + i%32
		f.add(n, linear(2*ms, 100*time.Microsecond)(n).Seconds())
	}
	if !f.ok || f.flat {
		t.Fatalf("linear cost after a flat one: ok=%v flat=%v", f.ok, f.flat)
	}
}

// TestCostFitRealisticNoise: on a shared host a batch's compute time
// varies by ±25% and now and then a batch is preempted and takes several
// times as long. The fit must still be trusted, and close, since the
// adaptive policy's waits rest on it.
func TestCostFitRealisticNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	cost := linear(2*ms, 100*time.Microsecond)
	var f costFit
	trusted := 0
	for i := range 400 {
		n := 1 + rng.IntN(64)
		c := cost(n).Seconds() * (0.75 + 0.5*rng.Float64())
		if rng.IntN(20) == 0 {
			c *= 5 // a preempted batch
		}
		f.add(n, c)
		if i >= 100 && f.ok {
			trusted++
		}
	}
	if trusted < 270 || math.Abs(f.a-0.002)/0.002 > 0.3 || math.Abs(f.b-0.0001)/0.0001 > 0.3 {
		t.Fatalf("trusted in %d of the last 300 batches, a=%g b=%g; want trusted nearly always, a≈2ms b≈0.1ms", trusted, f.a, f.b)
	}
	if f.status() != "trusted" {
		t.Fatalf("status %q", f.status())
	}
}

func TestCostFitStatus(t *testing.T) {
	var f costFit
	f.add(4, 0.001)
	if s := f.status(); s != "learning: 1 of 8 batches" {
		t.Fatalf("status after one batch: %q", s)
	}
	for range 40 {
		f.add(4, 0.001)
	}
	if s := f.status(); s != "no spread: batches are all about one size" {
		t.Fatalf("status with one size: %q", s)
	}
}
