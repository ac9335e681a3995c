package bench

import (
	"math"
	"slices"
	"time"
)

// Latency summarises a run's latencies, in milliseconds so that the JSON
// report reads without unit conversion.
type Latency struct {
	Count  int     `json:"count"`
	MinMs  float64 `json:"min_ms"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p99_9_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// Bucket is one histogram bin: Count latencies in (the previous bucket's
// LeMs, LeMs]. The last bucket's LeMs is +Inf, written as null in JSON.
type Bucket struct {
	LeMs  *float64 `json:"le_ms"`
	Count int64    `json:"count"`
}

// Summarize computes the percentiles (nearest rank, as Percentile) of d.
// It sorts d in place.
func Summarize(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return Latency{
		Count: len(d), MinMs: ms(d[0]), MaxMs: ms(d[len(d)-1]),
		MeanMs: ms(sum / time.Duration(len(d))),
		P50Ms:  ms(Percentile(d, 0.50)), P90Ms: ms(Percentile(d, 0.90)),
		P99Ms: ms(Percentile(d, 0.99)), P999Ms: ms(Percentile(d, 0.999)),
	}
}

// histogramBounds are the bucket upper bounds: 1, 2 and 5 per decade from
// 10µs to 100s, then +Inf.
var histogramBounds = func() []time.Duration {
	var out []time.Duration
	for decade := 10 * time.Microsecond; decade <= 10*time.Second; decade *= 10 {
		out = append(out, decade, 2*decade, 5*decade)
	}
	return append(out, 100*time.Second)
}()

// Histogram bins d on a log scale (1-2-5 per decade, 10µs to 100s, and one
// open bucket above). Empty buckets at either end are left out.
func Histogram(d []time.Duration) []Bucket {
	counts := make([]int64, len(histogramBounds)+1)
	for _, x := range d {
		i, _ := slices.BinarySearch(histogramBounds, x)
		counts[i]++
	}
	first := slices.IndexFunc(counts, func(c int64) bool { return c > 0 })
	if first < 0 {
		return []Bucket{}
	}
	last := len(counts) - 1
	for counts[last] == 0 {
		last--
	}
	out := make([]Bucket, 0, last-first+1)
	for i := first; i <= last; i++ {
		b := Bucket{Count: counts[i]}
		if i < len(histogramBounds) {
			le := ms(histogramBounds[i])
			b.LeMs = &le
		}
		out = append(out, b)
	}
	return out
}

// ms is d in milliseconds, rounded to the microsecond.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/1e3) / 1e3
}
