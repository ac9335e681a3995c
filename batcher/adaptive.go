package batcher

import (
	"math"
	"time"
)

// Tuning of the adaptive policy. See doc.go for the method.
const (
	fitForget      = 0.97 // weight kept by past samples at each new one (memory ~33 batches)
	fitMinSamples  = 8    // batches before the fit is trusted
	fitMinSpread   = 0.5  // weighted std dev of n, items, needed to solve for the slope
	fitMaxResidual = 0.25 // rms residual / mean cost above which the fit is noise
	fitMinSlope    = 0.005
	// fitMinSlope: b*mean(n) below this fraction of mean(cost) is flat.
	predErrWeight = 0.2 // EWMA weight of the last fit's relative prediction error
	aimdSteps     = 50  // additive increase is LatencyTarget/aimdSteps per batch
)

// fitStatus says what a least-squares solve found.
type fitStatus uint8

const (
	fitUnknown fitStatus = iota // too few samples or no spread in n: keep the last fit
	fitGood
	fitBad // flat or negative slope, or residual too high
)

// costFit is an exponentially weighted online least-squares fit of a
// batch's compute time c (seconds) against its size n: c(n) = a + b*n.
// Each sample is weighted 1 and the weights of the earlier ones are
// multiplied by fitForget, so the fit follows a cost that drifts.
//
// When the recent batches all have about the same size the slope cannot
// be solved for; the last good fit is then kept as long as it keeps
// predicting the new samples (EWMA of the relative error under
// fitMaxResidual).
type costFit struct {
	w, sn, sc, snn, snc, scc float64 // decayed sums of 1, n, c, n², n·c, c²
	samples                  int

	a, b    float64 // last good fit
	ok      bool
	predErr float64
}

func (f *costFit) add(n int, c float64) {
	x := float64(n)
	f.w = fitForget*f.w + 1
	f.sn = fitForget*f.sn + x
	f.sc = fitForget*f.sc + c
	f.snn = fitForget*f.snn + x*x
	f.snc = fitForget*f.snc + x*c
	f.scc = fitForget*f.scc + c*c
	f.samples++
	a, b, st := f.solve()
	switch {
	case st == fitGood:
		f.a, f.b, f.ok, f.predErr = a, b, true, 0
	case st == fitBad:
		f.ok = false
	case f.ok:
		pred := f.cost(n)
		e := math.Abs(c-pred) / math.Max(pred, 1e-9)
		f.predErr = (1-predErrWeight)*f.predErr + predErrWeight*e
		f.ok = f.predErr <= fitMaxResidual
	}
}

// solve fits a and b to the weighted samples and judges the fit.
func (f *costFit) solve() (a, b float64, st fitStatus) {
	if f.samples < fitMinSamples {
		return 0, 0, fitUnknown
	}
	mn, mc := f.sn/f.w, f.sc/f.w
	varN := f.snn/f.w - mn*mn
	if varN < fitMinSpread*fitMinSpread {
		return 0, 0, fitUnknown
	}
	cov := f.snc/f.w - mn*mc
	b = cov / varN
	a = mc - b*mn
	resid := f.scc/f.w - mc*mc - b*cov // weighted mean squared residual
	switch {
	case b*mn < fitMinSlope*mc:
		return a, b, fitBad
	case math.Sqrt(math.Max(resid, 0)) > fitMaxResidual*mc:
		return a, b, fitBad
	}
	return a, b, fitGood
}

// cost predicts the compute time of a batch of n, in seconds.
func (f *costFit) cost(n int) float64 { return math.Max(f.a, 0) + f.b*float64(n) }

// adaptivePolicy chooses, per device group, the batch size and window
// that maximise throughput while the oldest item's queue delay plus
// compute stays within the latency target. With a trusted cost fit and
// arrival rate λ it takes the largest n with (n-1)/λ + c(n) <= target
// (throughput n/c(n) grows with n), and waits at most n/λ for it, never
// more than target - c(n). Without a trusted fit it runs AIMD on the
// window and targets MaxBatch.
type adaptivePolicy struct {
	max    int
	target time.Duration // latency target
	fit    costFit
	aimd   time.Duration // AIMD window: +target/aimdSteps under target, halved over it

	lastRate float64 // arrival rate at the last decide, for Stats
}

func newAdaptivePolicy(max int, start, target time.Duration) *adaptivePolicy {
	if start <= 0 || start > target {
		start = target / 10
	}
	return &adaptivePolicy{max: max, target: target, aimd: start}
}

func (p *adaptivePolicy) decide(s state) decision {
	p.lastRate = s.rate
	n, w := p.plan(s.rate, s.bulkOnly)
	switch {
	case s.items >= p.max:
		return decision{dispatch: true, reason: ReasonFull, size: p.max}
	case s.items >= n:
		return decision{dispatch: true, reason: ReasonAdaptive, size: s.items}
	case s.oldest >= w:
		return decision{dispatch: true, reason: ReasonWindow, size: s.items}
	}
	return decision{wait: w - s.oldest}
}

// plan returns the target size and the window for the current arrival
// rate (items/s). A bulk-only batch may use the biggest size and the
// whole latency budget left after its compute.
func (p *adaptivePolicy) plan(rate float64, bulkOnly bool) (int, time.Duration) {
	if !p.fit.ok {
		return p.max, p.aimd
	}
	T, a, b := p.target.Seconds(), math.Max(p.fit.a, 0), p.fit.b
	n := 1
	if rate > 0 {
		gap := 1 / rate // mean time between items
		n = int(math.Min(math.Floor((T-a+gap)/(gap+b)), float64(p.max)))
		n = max(n, 1)
	}
	w := seconds(math.Min(float64(n)/math.Max(rate, 1e-9), T-p.fit.cost(n)))
	if bulkOnly {
		return p.max, max(w, seconds(T-p.fit.cost(p.max)))
	}
	return n, w
}

func (p *adaptivePolicy) observe(n int, wait, compute time.Duration) {
	p.fit.add(n, compute.Seconds())
	if wait+compute > p.target {
		p.aimd /= 2
	} else {
		p.aimd = min(p.aimd+p.target/aimdSteps, p.target)
	}
}

// snapshot reports the interactive plan at the last arrival rate seen.
func (p *adaptivePolicy) snapshot() GroupStats {
	n, w := p.plan(p.lastRate, false)
	g := GroupStats{Policy: "adaptive-aimd", Window: w, Target: n}
	if p.fit.ok {
		g.Policy = "adaptive-model"
		g.CostFixed, g.CostPerItem = seconds(math.Max(p.fit.a, 0)), seconds(p.fit.b)
	}
	return g
}

// seconds converts s to a Duration, clamped to [0, 1h].
func seconds(s float64) time.Duration {
	return time.Duration(math.Max(0, math.Min(s, 3600)) * float64(time.Second))
}

// rateMeter is an exponentially decaying count of arrivals: with time
// constant tau, perSec is about the items per second over the last tau.
// Times are nanoseconds on the batcher's clock.
type rateMeter struct {
	tau         float64 // seconds
	sum         float64 // decayed item count at last
	first, last int64
	started     bool
}

func (m *rateMeter) add(at int64, n int) {
	if !m.started {
		m.first, m.last, m.started = at, at, true
	}
	if at > m.last {
		m.sum *= math.Exp(-float64(at-m.last) / 1e9 / m.tau)
		m.last = at
	}
	m.sum += float64(n)
}

// perSec is the rate at now. The first tau is normalised by the time
// actually observed (at least 10ms) so the estimate is not low at start.
func (m *rateMeter) perSec(now int64) float64 {
	if !m.started {
		return 0
	}
	sum := m.sum
	if now > m.last {
		sum *= math.Exp(-float64(now-m.last) / 1e9 / m.tau)
	}
	span := math.Max(float64(now-m.first)/1e9, 0.01)
	return sum / (m.tau * (1 - math.Exp(-span/m.tau)))
}
