package bench

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"time"
)

// Arrival processes of an open-loop run.
const (
	Poisson = "poisson" // exponential gaps between requests
	Uniform = "uniform" // equal gaps
)

// OpenOptions configure an open-loop run.
type OpenOptions struct {
	Rate     float64 // requests per second
	Duration time.Duration
	Arrivals string // Poisson (default) or Uniform
	Workers  int    // goroutines sending; default 64
	// Backlog is how many requests may wait for a free worker; a request
	// that finds it full is dropped. Default: Workers.
	Backlog int
	// LateAfter is how long after its intended time a request may be sent
	// before it counts as late. Default 1ms.
	LateAfter time.Duration
	Seed      int64
	Live      *Live
}

func (o *OpenOptions) defaults() {
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.Backlog <= 0 {
		o.Backlog = o.Workers
	}
	if o.LateAfter <= 0 {
		o.LateAfter = time.Millisecond
	}
	if o.Arrivals == "" {
		o.Arrivals = Poisson
	}
}

// OpenLoop sends requests at a fixed rate for the duration, whatever the
// server's answers: a scheduler fixes each request's intended send time in
// advance and hands it to a pool of workers, never waiting for an answer.
// Latency runs from the intended time, not the actual send, so time a
// request spent waiting for a free worker (because earlier answers were
// slow) counts against the server: the run is free of coordinated
// omission. Requests that could not even be queued are reported as dropped.
func OpenLoop(ctx context.Context, o OpenOptions, call Call) Level {
	o.defaults()
	rec := newRecorder(o.Workers, o.Live)
	jobs := make(chan time.Time, o.Backlog)
	var late atomic.Int64
	var maxLag atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.Workers {
		wg.Go(func() {
			for intended := range jobs {
				lag := time.Since(intended)
				if lag > o.LateAfter {
					late.Add(1)
				}
				storeMax(&maxLag, int64(lag))
				n, err := call(ctx, w)
				if err != nil && ctx.Err() != nil {
					continue // the run was cancelled
				}
				rec.done(w, time.Since(intended), n, err)
			}
		})
	}
	scheduled, dropped := schedule(ctx, o, start, jobs)
	close(jobs)
	wg.Wait()
	l := rec.level(time.Since(start))
	l.Mode, l.Label, l.Rate, l.Arrivals, l.Workers = "open", fmt.Sprintf("r=%g", o.Rate), o.Rate, o.Arrivals, o.Workers
	l.Sends = &Sends{Scheduled: scheduled, Dropped: dropped, Late: late.Load(),
		LateAfterMs: ms(o.LateAfter), MaxLagMs: ms(time.Duration(maxLag.Load()))}
	return l
}

// schedule hands intended send times to jobs until the duration has passed.
// It sleeps until the next intended time, then queues every request that
// is due, so a late wake-up sends a burst instead of shifting the schedule.
func schedule(ctx context.Context, o OpenOptions, start time.Time, jobs chan<- time.Time) (scheduled, dropped int64) {
	gaps := arrivals(o.Arrivals, o.Rate, o.Seed)
	end := start.Add(o.Duration)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for next := start; next.Before(end); next = next.Add(gaps()) {
		if d := time.Until(next); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return scheduled, dropped
			}
		}
		scheduled++
		select {
		case jobs <- next:
		default:
			dropped++
		}
	}
	return scheduled, dropped
}

// arrivals returns the gaps between intended send times: exponential with
// mean 1/rate for Poisson arrivals, 1/rate each for uniform ones.
func arrivals(kind string, rate float64, seed int64) func() time.Duration {
	mean := float64(time.Second) / rate
	if kind == Uniform {
		return func() time.Duration { return time.Duration(mean) }
	}
	rng := rand.New(rand.NewSource(seed))
	return func() time.Duration { return time.Duration(rng.ExpFloat64() * mean) }
}

func storeMax(m *atomic.Int64, v int64) {
	for {
		old := m.Load()
		if v <= old || m.CompareAndSwap(old, v) {
			return
		}
	}
}
