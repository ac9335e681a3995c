package batcher

import (
	"slices"
	"sync"
	"time"
)

// BatchStats describes one batch that ran; OnBatch receives it from Done.
type BatchStats struct {
	Group      string
	Rows       int // items
	Parts      int // request parts
	Reason     Reason
	OldestWait time.Duration // queue delay of the oldest item
	Compute    time.Duration // as measured by the worker
}

// Histogram is a fixed-bucket histogram. Counts[i] counts the samples in
// (Bounds[i-1], Bounds[i]]; the last count, Counts[len(Bounds)], those above
// the last bound. Counts are per bucket, not cumulative.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
}

func newHistogram(bounds []float64) Histogram {
	return Histogram{Bounds: bounds, Counts: make([]uint64, len(bounds)+1)}
}

func (h *Histogram) observe(v float64) {
	i, _ := slices.BinarySearch(h.Bounds, v)
	h.Counts[i]++
	h.Count++
	h.Sum += v
}

func (h Histogram) clone() Histogram {
	h.Counts = slices.Clone(h.Counts)
	return h // Bounds are shared and never written
}

// Mean is Sum/Count, 0 when empty.
func (h Histogram) Mean() float64 {
	if h.Count == 0 {
		return 0
	}
	return h.Sum / float64(h.Count)
}

// durationBounds are the bucket bounds for queue delay and compute, in
// seconds: 50µs to 10s in 1-2.5-5 steps.
var durationBounds = []float64{
	50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3,
	100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10,
}

// sizeBounds are powers of two up to the first one at or above max.
func sizeBounds(max int) []float64 {
	b := []float64{1}
	for n := 2; n/2 < max && n > 0; n *= 2 { // n > 0: never past the int's range
		b = append(b, float64(n))
	}
	return b
}

// GroupStats is one device group's policy state.
type GroupStats struct {
	Name        string
	Policy      string        // off, static, adaptive-model or adaptive-aimd
	Window      time.Duration // current window; adaptive: the wait chosen at the last look (0: none)
	Target      int           // current target batch size, items; adaptive: the size the last look aimed at
	CostFixed   time.Duration // adaptive: fitted a of c(n) = a + b·n, when trusted
	CostPerItem time.Duration // adaptive: fitted b, when trusted
	// CostFit is the adaptive policy's cost fit: "trusted", or why it is
	// not (learning, flat, noisy, no spread); empty for other policies.
	CostFit string
	// TypicalCompute is the adaptive policy's typical batch compute time
	// (a geometric EWMA): its cost model while the fit is not trusted.
	TypicalCompute time.Duration
	// BulkShare is the share of the group's compute capacity bulk requests
	// used lately (decayed over about a quarter second).
	BulkShare float64
}

// Stats is a snapshot of a batcher, for the model stats endpoint and
// metrics. Batch counters and histograms count batches passed to Done.
type Stats struct {
	Submitted uint64 // requests accepted by Submit
	Rejected  uint64 // Submit calls that got ErrQueueFull
	Dropped   uint64 // requests reported through OnDrop
	Batches   uint64
	Reasons   map[Reason]uint64 // batches per dispatch reason

	Size       Histogram // items per batch
	QueueDelay Histogram // seconds, oldest item per batch
	Compute    Histogram // seconds per batch

	QueueDepth  int     // requests held, not yet fully handed out
	QueueRows   int     // their rows not yet handed out
	InFlight    int     // batches handed out and not yet Done
	ArrivalRate float64 // items/s, exponentially weighted
	Groups      []GroupStats
}

// recorder accumulates the per-batch stats. Its mutex is never held
// together with Batcher.mu.
type recorder struct {
	mu         sync.Mutex // protects: every field below
	batches    uint64
	reasons    [numReasons]uint64
	size       Histogram
	queueDelay Histogram
	compute    Histogram
}

func newRecorder(maxBatch int) *recorder {
	return &recorder{
		size:       newHistogram(sizeBounds(maxBatch)),
		queueDelay: newHistogram(durationBounds),
		compute:    newHistogram(durationBounds),
	}
}

func (r *recorder) record(s BatchStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches++
	if s.Reason < numReasons {
		r.reasons[s.Reason]++
	}
	r.size.observe(float64(s.Rows))
	r.queueDelay.observe(s.OldestWait.Seconds())
	r.compute.observe(s.Compute.Seconds())
}

// fill copies the recorder's state into s.
func (r *recorder) fill(s *Stats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.Batches = r.batches
	s.Reasons = make(map[Reason]uint64, numReasons)
	for i, n := range r.reasons {
		if n > 0 {
			s.Reasons[Reason(i)] = n
		}
	}
	s.Size, s.QueueDelay, s.Compute = r.size.clone(), r.queueDelay.clone(), r.compute.clone()
}
