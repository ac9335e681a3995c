package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Level is one load level's measurement: a closed-loop concurrency or an
// open-loop rate. It is what the JSON report lists, one per level.
type Level struct {
	Mode           string   `json:"mode"`  // closed | open
	Label          string   `json:"label"` // c=8, r=500
	Concurrency    int      `json:"concurrency,omitempty"`
	Rate           float64  `json:"rate,omitempty"` // requests/s asked for
	Arrivals       string   `json:"arrivals,omitempty"`
	Workers        int      `json:"workers,omitempty"`
	DurationS      float64  `json:"duration_s"` // wall time, start to the last answer
	Requests       int64    `json:"requests"`   // answered, errors included
	Rows           int64    `json:"rows"`
	Errors         int64    `json:"errors"`
	FirstError     string   `json:"first_error,omitempty"`
	RequestsPerSec float64  `json:"requests_per_s"` // successful requests
	RowsPerSec     float64  `json:"rows_per_s"`
	Latency        Latency  `json:"latency"`
	Histogram      []Bucket `json:"histogram"`
	Sends          *Sends   `json:"sends,omitempty"` // open loop only
	// MeanBatch is the server's mean batch size over the level (inferences
	// per execution, from its statistics); nil when the server has none.
	MeanBatch     *float64 `json:"server_mean_batch"`
	MeanBatchNote string   `json:"server_mean_batch_note,omitempty"`
	// ServerQueueMs and ServerComputeMs are the server's mean time per
	// request queued (the batch window included) and in the backend.
	ServerQueueMs   *float64 `json:"server_queue_ms,omitempty"`
	ServerComputeMs *float64 `json:"server_compute_ms,omitempty"`
	// ServerCPUUsPerReq is the server process's CPU time per request
	// (process_cpu_seconds_total before and after the level).
	ServerCPUUsPerReq *float64 `json:"server_cpu_us_per_request,omitempty"`
	// ComputeInflation is the server's compute per batch over the backend
	// alone at the same batch sizes (see Inflation).
	ComputeInflation *float64 `json:"compute_inflation,omitempty"`
}

// Sends is how well an open-loop run kept its schedule.
type Sends struct {
	Scheduled int64 `json:"scheduled"`
	// Dropped requests found every worker busy and the backlog full at
	// their intended time, and were never sent.
	Dropped int64 `json:"dropped"`
	// Late requests were sent more than LateAfterMs after their intended
	// time (their latency still counts from the intended time).
	Late        int64   `json:"late"`
	LateAfterMs float64 `json:"late_after_ms"`
	MaxLagMs    float64 `json:"max_lag_ms"`
}

// Live counts a run in progress, for the progress line.
type Live struct {
	Requests atomic.Int64 // answered, errors included
	Errors   atomic.Int64
}

// recorder collects a run's answers from many goroutines; each goroutine
// appends latencies to its own slice.
type recorder struct {
	lat      [][]time.Duration
	rows     atomic.Int64
	errs     atomic.Int64
	firstErr atomic.Pointer[error]
	live     *Live
}

func newRecorder(goroutines int, live *Live) *recorder {
	if live == nil {
		live = &Live{}
	}
	return &recorder{lat: make([][]time.Duration, goroutines), live: live}
}

// done records goroutine g's answer: its latency, rows or error.
func (r *recorder) done(g int, lat time.Duration, rows int, err error) {
	r.live.Requests.Add(1)
	if err != nil {
		r.errs.Add(1)
		r.live.Errors.Add(1)
		r.firstErr.CompareAndSwap(nil, &err)
		return
	}
	r.lat[g] = append(r.lat[g], lat)
	r.rows.Add(int64(rows))
}

// level summarises what was recorded over elapsed.
func (r *recorder) level(elapsed time.Duration) Level {
	all := slices.Concat(r.lat...)
	l := Level{
		DurationS: elapsed.Seconds(), Rows: r.rows.Load(), Errors: r.errs.Load(),
		Latency: Summarize(all), Histogram: Histogram(all),
	}
	l.Requests = int64(len(all)) + l.Errors
	if s := elapsed.Seconds(); s > 0 {
		l.RequestsPerSec, l.RowsPerSec = float64(len(all))/s, float64(l.Rows)/s
	}
	if p := r.firstErr.Load(); p != nil {
		l.FirstError = (*p).Error()
	}
	return l
}

// RunClosed runs clients goroutines for duration, each sending its next
// request as soon as the last one answered. A request that fails once the
// run is over (cut off by its end) is not counted.
func RunClosed(ctx context.Context, clients int, duration time.Duration, live *Live, call Call) Level {
	start := time.Now()
	end := start.Add(duration)
	// The run's deadline is end itself: a call cut off by it may fail
	// (gRPC's DeadlineExceeded) a moment before ctx.Err() is set, and it
	// must then be past end, not counted as an error.
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	rec := newRecorder(clients, live)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				t := time.Now()
				n, err := call(ctx, c)
				if err != nil && (ctx.Err() != nil || !time.Now().Before(end)) {
					return
				}
				rec.done(c, time.Since(t), n, err)
			}
		})
	}
	wg.Wait()
	l := rec.level(time.Since(start))
	l.Mode, l.Label, l.Concurrency = "closed", fmt.Sprintf("c=%d", clients), clients
	return l
}
