package bench

import (
	"math/rand"
	"testing"
	"time"
)

func TestBenchPercentiles(t *testing.T) {
	// 1..1000 µs, shuffled: the nearest-rank q-quantile is q·1000 µs.
	d := make([]time.Duration, 1000)
	for i := range d {
		d[i] = time.Duration(i+1) * time.Microsecond
	}
	rand.New(rand.NewSource(1)).Shuffle(len(d), func(i, j int) { d[i], d[j] = d[j], d[i] })
	got := Summarize(d)
	want := Latency{Count: 1000, MinMs: 0.001, MeanMs: 0.501, P50Ms: 0.5, P90Ms: 0.9, P99Ms: 0.99, P999Ms: 0.999, MaxMs: 1}
	if got != want {
		t.Errorf("Summarize = %+v\nwant        %+v", got, want)
	}
	if got := Summarize(nil); got != (Latency{}) {
		t.Errorf("Summarize(nil) = %+v, want zeros", got)
	}
	one := []time.Duration{3 * time.Millisecond}
	if got := Summarize(one); got.P50Ms != 3 || got.P999Ms != 3 {
		t.Errorf("one sample: %+v, want every percentile 3ms", got)
	}
}

func TestBenchHistogram(t *testing.T) {
	d := []time.Duration{
		15 * time.Microsecond, 20 * time.Microsecond, // (10µs, 20µs]
		3 * time.Millisecond, 4 * time.Millisecond, // (2ms, 5ms]
		200 * time.Second, // above 100s
	}
	h := Histogram(d)
	var total int64
	for _, b := range h {
		total += b.Count
	}
	if total != int64(len(d)) {
		t.Fatalf("histogram holds %d samples, want %d: %+v", total, len(d), h)
	}
	if h[0].LeMs == nil || *h[0].LeMs != 0.02 || h[0].Count != 2 {
		t.Errorf("first bucket %+v, want le 0.02ms holding 2", h[0])
	}
	if last := h[len(h)-1]; last.LeMs != nil || last.Count != 1 {
		t.Errorf("last bucket %+v, want the open one holding 1", last)
	}
	for _, b := range h {
		if b.LeMs != nil && *b.LeMs == 5 && b.Count != 2 {
			t.Errorf("bucket le 5ms holds %d, want 2", b.Count)
		}
	}
	if h := Histogram(nil); len(h) != 0 {
		t.Errorf("empty histogram %+v", h)
	}
}
