package batcher

import (
	"math"
	"time"
)

// Tuning of the adaptive policy. The method is described once, in doc.go
// (Modes, ModeAdaptive); these are its constants.
const (
	waitGain    = 1.25                  // a wait must promise this much more throughput than dispatching now
	keepGain    = 1.05                  // and, once started, at least this much to go on
	minWait     = 10 * time.Microsecond // shorter waits do not pay for a park and a wake-up
	creditMin   = 1.0 / 8               // below this credit the policy does not wait
	creditStep  = 1.0 / 1024            // credit regained per batch that met the target
	lagForget   = 1.0 / 64              // share of the wake-up lag forgotten per batch
	costWeight  = 0.1                   // EWMA weight of the last batch in the typical compute time
	lagWeight   = 0.25                  // EWMA weight of the last wake-up's lag
	arrivalGaps = 4                     // a wait ends when no row came for this many expected gaps
)

// adaptivePolicy is ModeAdaptive, one per device group. What it decides
// and why (the cost fit, when a wait pays, the AIMD credit, the
// fallbacks while the fit is not trusted) is described once, in the
// package documentation (doc.go, Modes); decide, bestWait, settle and
// observe implement it step by step.
type adaptivePolicy struct {
	max      int
	target   time.Duration // latency target: queue delay plus compute, per batch's oldest row
	fit      costFit
	logCost  float64        // EWMA of ln(compute seconds): the typical batch's, robust to spikes
	costSeen bool           // logCost has a sample
	credit   float64        // share of the wait bound a new wait may use, in (0, 1]
	lag      float64        // seconds: EWMA of how late the worker woke after a timed wait
	eps      [2]waitEpisode // by priority: interactive, bulk (choose asks about both heads)
	// shared: the group's instances run on the front end's cores, so the
	// time a wait keeps them idle is not lost (Config.SharedCores).
	shared bool

	// For Stats and tests.
	lastN        int           // the size the last decision aimed at
	lastWait     time.Duration // the wait it chose (0: dispatched at once)
	paid, wasted int           // waits that paid off, and those that did not
}

// waitEpisode is the wait in progress, for one head row. Times are on
// the caller's clock.
type waitEpisode struct {
	active bool
	head   time.Duration // arrival of the head row it waits with
	start  time.Duration // when the wait began
	until  time.Duration // when it ends at the latest
	wake   time.Duration // when the worker asked to be woken, at the latest
	q0     int           // rows queued when it began
	qLast  int           // rows queued at the last arrival seen
	last   time.Duration // when that arrival was seen
}

func newAdaptivePolicy(max int, target time.Duration) *adaptivePolicy {
	return &adaptivePolicy{max: max, target: target, credit: 1, lastN: 1}
}

func (p *adaptivePolicy) decide(s state) decision {
	q := s.items
	ep := &p.eps[0]
	if s.bulkOnly {
		ep = &p.eps[1]
	}
	if q >= p.max {
		p.settle(ep, s.now, p.max)
		p.lastN, p.lastWait = p.max, 0
		return decision{dispatch: true, reason: ReasonFull, size: p.max}
	}
	if ep.active && (ep.head != s.now-s.oldest || q < ep.q0) {
		ep.active = false // its rows left (another group, a drop): start over
	}
	if ep.active && s.now >= ep.wake {
		p.lag += lagWeight * ((s.now - ep.wake).Seconds() - p.lag)
	}
	if ep.active && q > ep.qLast {
		ep.qLast, ep.last = q, s.now
	}
	rate := max(s.rate, s.clumped)
	gap := seconds(arrivalGaps / rate) // a wait ends when no row came for this long
	var t time.Duration
	var n int
	switch {
	case !ep.active && gap >= minWait:
		t, n = p.bestWait(q, s.oldest, rate, p.allowance(q), waitGain)
	case ep.active && s.now < ep.until && s.now-ep.last < gap:
		t, n = p.bestWait(q, s.oldest, rate, ep.until-s.now, keepGain)
	}
	if t < minWait {
		reason := ReasonAdaptive // work-conserving, or enough rows came
		if ep.active && (s.now >= ep.until || s.now-ep.last >= gap) {
			reason = ReasonWindow // the wait ran out
		}
		p.settle(ep, s.now, q)
		p.lastN, p.lastWait = q, 0
		return decision{dispatch: true, reason: reason, size: q}
	}
	if !ep.active {
		*ep = waitEpisode{active: true, head: s.now - s.oldest, start: s.now, q0: q, qLast: q, last: s.now}
	}
	ep.until = s.now + t
	wait := max(min(t, ep.last+gap-s.now), minWait)
	ep.wake = s.now + wait
	p.lastN, p.lastWait = n, t
	return decision{wait: wait}
}

// model is the cost c(n) = a + b·n, in seconds, that decisions use: the
// fit when it is trusted, flat at the typical compute time when the fit
// found the cost flat, else 0 (then the policy never waits).
func (p *adaptivePolicy) model() (a, b float64) {
	switch {
	case p.fit.ok:
		return math.Max(p.fit.a, 0), p.fit.b
	case p.fit.flat && p.costSeen:
		return math.Exp(p.logCost), 0
	}
	return 0, 0
}

// allowance bounds a new wait: the credit's share of the time the q rows
// take to run; nothing while the credit is under creditMin.
func (p *adaptivePolicy) allowance(q int) time.Duration {
	if p.credit < creditMin {
		return 0
	}
	a, b := p.model()
	return seconds(p.credit * (a + b*float64(q)))
}

// bestWait returns how long to wait, at most allow, and the rows expected
// by then; 0 and q to dispatch now. Waiting t for m = rate·t more rows
// keeps the worker idle t plus its wake-up lag, and saves at best the
// fixed cost a of the batch those m rows would otherwise need: dispatching
// now and then them costs c(q) + c(m) = 2a + b(q+m), waiting costs
// t + lag + a + b(q+m). The wait must make the first gain times the
// second; since that ratio falls as t grows, bestWait takes the longest t
// that does (so waits are shorter than a), within allow, MaxBatch and
// the latency target (w + t + lag + c(q+m) <= target). The q+m rows
// must also run gain times faster, per second of worker time, than the q
// rows alone: (q+m)/(t + lag + c(q+m)) against q/c(q).
func (p *adaptivePolicy) bestWait(q int, w time.Duration, rate float64, allow time.Duration, gain float64) (time.Duration, int) {
	a, b := p.model()
	if rate <= 0 || allow <= 0 || a <= 0 {
		return 0, q
	}
	x, lag := float64(q), p.lag
	cq := a + b*x
	t := min(allow.Seconds(), float64(p.max-q)/rate,
		(p.target.Seconds()-w.Seconds()-lag-cq)/(1+b*rate))
	// idle is the worker time the wait costs: t plus the wake-up, or only
	// the wake-up when the instance shares the front end's cores, which
	// read the rows meanwhile.
	idle := func(t float64) float64 { return t + lag }
	if p.shared {
		idle = func(float64) float64 { return lag }
	} else {
		t = min(t, ((2-gain)*a-(gain-1)*b*x-gain*lag)/(gain+(gain-1)*b*rate))
	}
	if t <= 0 {
		return 0, q
	}
	n := x + rate*t
	if n/(idle(t)+a+b*n) < gain*x/cq {
		return 0, q
	}
	return seconds(t), int(math.Round(n))
}

// settle ends the wait ep, if in progress, as n rows leave. It paid if
// rows came and it took less than the fixed cost of the batch they would
// otherwise have needed; if not, the credit halves.
func (p *adaptivePolicy) settle(ep *waitEpisode, now time.Duration, n int) {
	if !ep.active {
		return
	}
	ep.active = false
	// On shared cores the wait's length is not lost time: it paid if rows
	// came.
	if a, _ := p.model(); n > ep.q0 && (p.shared || (now-ep.start).Seconds() <= a) {
		p.paid++
		p.credit = min(1, 2*p.credit)
		return
	}
	p.wasted++
	p.credit /= 2
}

func (p *adaptivePolicy) observe(n int, wait, compute time.Duration) {
	c := compute.Seconds()
	p.fit.add(n, c)
	if c > 0 {
		if !p.costSeen {
			p.logCost, p.costSeen = math.Log(c), true
		}
		p.logCost += costWeight * (math.Log(c) - p.logCost)
	}
	p.lag *= 1 - lagForget
	if wait+compute > p.target {
		p.credit /= 2
	} else {
		p.credit = min(1, p.credit+creditStep)
	}
}

// snapshot reports the size the last decision aimed at and the wait it
// chose.
func (p *adaptivePolicy) snapshot() GroupStats {
	g := GroupStats{Policy: "adaptive-aimd", Window: p.lastWait, Target: p.lastN, CostFit: p.fit.status()}
	if p.costSeen {
		g.TypicalCompute = seconds(math.Exp(p.logCost))
	}
	if p.fit.ok {
		g.Policy = "adaptive-model"
		g.CostFixed, g.CostPerItem = seconds(math.Max(p.fit.a, 0)), seconds(p.fit.b)
	}
	return g
}
