package batcher

import (
	"fmt"
	"math"
	"time"
)

// Tuning of the cost fit. See doc.go for the method.
const (
	fitForget      = 0.97 // weight kept by past samples at each new one (memory ~33 batches)
	fitMinSamples  = 8    // batches before the fit is trusted
	fitMinSpread   = 0.5  // weighted std dev of n, items, needed to solve for the slope
	fitMaxResidual = 0.4  // rms residual / mean cost above which the fit is noise
	fitClip        = 2.0  // a sample above this many times the fit's prediction counts as this
	fitMinSlope    = 0.005
	// fitMinSlope: b*mean(n) below this fraction of mean(cost) is flat.
	predErrWeight = 0.2 // EWMA weight of the last fit's relative prediction error
)

// fitStatus says what a least-squares solve found.
type fitStatus uint8

const (
	fitUnknown fitStatus = iota // too few samples or no spread in n: keep the last fit
	fitGood
	fitFlat // flat or negative slope: batching is free
	fitBad  // residual too high
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
	flat    bool // the last solve found a flat or negative slope
	lastBad bool // the last solve, or the kept fit's predictions, found noise

	ra, rb float64 // the latest solution, good or not: what samples are clipped against
	raw    bool
}

func (f *costFit) add(n int, c float64) {
	if f.raw {
		// A batch whose thread was preempted, or that met a page fault
		// storm, says nothing about batch cost: clip it against the latest
		// solution, trusted or not, so a few spikes do not make the fit
		// noise. A cost that truly rose still pulls the fit up, by up to
		// fitClip at each batch.
		c = math.Min(c, fitClip*math.Max(f.ra+f.rb*float64(n), 1e-9))
	}
	x := float64(n)
	f.w = fitForget*f.w + 1
	f.sn = fitForget*f.sn + x
	f.sc = fitForget*f.sc + c
	f.snn = fitForget*f.snn + x*x
	f.snc = fitForget*f.snc + x*c
	f.scc = fitForget*f.scc + c*c
	f.samples++
	a, b, st := f.solve()
	if st != fitUnknown {
		f.ra, f.rb, f.raw = a, b, true
		f.flat = st == fitFlat
		f.lastBad = st == fitBad
	}
	switch {
	case st == fitGood:
		f.a, f.b, f.ok, f.predErr = a, b, true, 0
	case st != fitUnknown:
		f.ok = false
	case f.ok:
		pred := f.cost(n)
		e := math.Abs(c-pred) / math.Max(pred, 1e-9)
		f.predErr = (1-predErrWeight)*f.predErr + predErrWeight*e
		f.ok = f.predErr <= fitMaxResidual
		f.lastBad = !f.ok
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
		return a, b, fitFlat
	case math.Sqrt(math.Max(resid, 0)) > fitMaxResidual*mc:
		return a, b, fitBad
	}
	return a, b, fitGood
}

// status words what the fit is, for Stats: trusted, or why not.
func (f *costFit) status() string {
	switch {
	case f.ok:
		return "trusted"
	case f.samples < fitMinSamples:
		return fmt.Sprintf("learning: %d of %d batches", f.samples, fitMinSamples)
	case f.flat:
		return "flat: batching is free"
	case f.lastBad:
		return "noisy: batch costs vary too much to fit"
	}
	return "no spread: batches are all about one size"
}

// cost predicts the compute time of a batch of n, in seconds.
func (f *costFit) cost(n int) float64 { return math.Max(f.a, 0) + f.b*float64(n) }

// seconds converts s to a Duration, clamped to [0, 1h].
func seconds(s float64) time.Duration {
	return time.Duration(math.Max(0, math.Min(s, 3600)) * float64(time.Second))
}

// Tuning of the clump estimate.
const (
	gapWeight     = 1.0 / 32 // EWMA weight of the last request's gap
	gapMin        = 1000     // ns; arrivals closer than this count as this close
	gapMinSamples = 8
	eulerGamma    = 0.5772156649015329
)

// rateMeter is an exponentially decaying count of arrivals: with time
// constant tau, perSec is about the items per second over the last tau.
// It also keeps an EWMA of the logarithm of the gaps between requests,
// for clumped. Times are nanoseconds on the batcher's clock.
type rateMeter struct {
	tau         float64 // seconds
	sum         float64 // decayed item count at last
	first, last int64
	started     bool

	logGap  float64 // EWMA of ln(gap in ns) between requests
	rowsPer float64 // EWMA of rows per request
	gaps    int
}

func (m *rateMeter) add(at int64, n int) {
	if !m.started {
		m.first, m.last, m.started = at, at, true
		m.rowsPer = float64(n)
	} else {
		g := math.Log(float64(max(at-m.last, gapMin)))
		if m.gaps == 0 {
			m.logGap = g
		}
		m.logGap += gapWeight * (g - m.logGap)
		m.rowsPer += gapWeight * (float64(n) - m.rowsPer)
		m.gaps++
	}
	if at > m.last {
		m.sum *= math.Exp(-float64(at-m.last) / 1e9 / m.tau)
		m.last = at
	}
	m.sum += float64(n)
}

// clumped is the rate, items per second, that the typical gap between
// requests stands for: exp(-γ - E[ln gap]) requests per second, which is
// the rate itself for Poisson arrivals and less for evenly spaced ones,
// but far more when requests come in clumps (bursts; closed-loop clients
// whose answers left together): then it is the rate inside a clump. 0
// until a few gaps were seen.
func (m *rateMeter) clumped() float64 {
	if m.gaps < gapMinSamples {
		return 0
	}
	return math.Exp(-eulerGamma-m.logGap) * 1e9 * m.rowsPer
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
