package batcher

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// sim runs a policy against one worker on a fake clock. Every request is
// one row. The worker asks its policy for a batch whenever it is idle and
// rows are queued, again at every arrival while it waits, and when a wait
// expires; a batch of n costs cost(n), after which observe sees it.
//
// Rows arrive open-loop at given times (run) or from closed-loop clients
// that each send their next row think() after their answer (closed).
type sim struct {
	pol  policy
	cost func(n int) time.Duration
	// rate, when set, replaces the measured arrival rate (a meter that
	// lies, as after a burst).
	rate func(now int64) float64
	// lag delays every wake-up from a wait (a busy host's scheduler).
	lag time.Duration

	sizes   []int
	oldest  []time.Duration // per batch: its oldest row's queue delay
	latency []time.Duration // per row: arrival to the end of its batch
	reasons [numReasons]int
	idle    time.Duration // worker idle while rows were queued (waits)
	busy    time.Duration
	served  int
	end     int64 // when the last batch ended
}

// run serves rows arriving at the given times (sorted) until all are done.
func (s *sim) run(t *testing.T, arrivals []int64) {
	s.loop(t, arrivals, nil, math.MaxInt64)
}

// closed runs clients closed-loop until stop, then drains.
func (s *sim) closed(t *testing.T, clients int, think func() time.Duration, stop time.Duration) {
	start := make([]int64, clients)
	for i := range start {
		start[i] = int64(think())
	}
	slices.Sort(start)
	s.loop(t, start, think, int64(stop))
}

func (s *sim) loop(t *testing.T, future []int64, think func() time.Duration, stop int64) {
	t.Helper()
	meter := rateMeter{tau: 0.5}
	var queue []int64
	for now := int64(0); ; {
		for len(future) > 0 && future[0] <= now {
			queue = append(queue, future[0])
			meter.add(future[0], 1)
			future = future[1:]
		}
		if len(queue) == 0 {
			if len(future) == 0 {
				return
			}
			now = future[0]
			continue
		}
		rate := meter.perSec(now)
		if s.rate != nil {
			rate = s.rate(now)
		}
		d := s.pol.decide(state{now: time.Duration(now), oldest: time.Duration(now - queue[0]),
			items: len(queue), rate: rate, clumped: meter.clumped()})
		if !d.dispatch {
			next := int64(math.MaxInt64)
			if d.wait > 0 {
				next = now + int64(d.wait)
			}
			if len(future) > 0 {
				next = min(next, future[0])
			}
			if next == math.MaxInt64 {
				t.Fatalf("policy waits for ever: %d rows queued, nothing to come", len(queue))
			}
			next += int64(s.lag)
			s.idle += time.Duration(next - now)
			now = next
			continue
		}
		n := min(d.size, len(queue))
		c := s.cost(n)
		end := now + int64(c)
		s.pol.observe(n, time.Duration(now-queue[0]), c)
		s.sizes, s.oldest = append(s.sizes, n), append(s.oldest, time.Duration(now-queue[0]))
		s.reasons[d.reason]++
		for _, at := range queue[:n] {
			s.latency = append(s.latency, time.Duration(end-at))
			if think != nil && end < stop {
				next := end + int64(think())
				i, _ := slices.BinarySearch(future, next)
				future = slices.Insert(future, i, next)
			}
		}
		queue = queue[n:]
		s.busy += c
		s.served += n
		s.end, now = end, end
	}
}

// throughput is rows per second over the whole run.
func (s *sim) throughput() float64 { return float64(s.served) / (float64(s.end) / 1e9) }

func (s *sim) meanSize() float64 {
	sum := 0
	for _, n := range s.sizes {
		sum += n
	}
	return float64(sum) / float64(len(s.sizes))
}

func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	return s[int(q*float64(len(s)-1))]
}

// linear is the synthetic cost a + b·n.
func linear(a, b time.Duration) func(int) time.Duration {
	return func(n int) time.Duration { return a + time.Duration(n)*b }
}

// poisson returns arrival times at rate per second over d.
func poisson(rng *rand.Rand, rate float64, d time.Duration) []int64 {
	var at []int64
	for t := rng.ExpFloat64() * 1e9 / rate; t < float64(d); t += rng.ExpFloat64() * 1e9 / rate {
		at = append(at, int64(t))
	}
	return at
}

// workConserving is the best static setting for a closed loop: MaxBatch
// max, no window.
func workConserving(max int) policy { return &staticPolicy{max: max} }

// exponential returns think times drawn with the given mean.
func exponential(rng *rand.Rand, mean time.Duration) func() time.Duration {
	return func() time.Duration { return time.Duration(rng.ExpFloat64() * float64(mean)) }
}
