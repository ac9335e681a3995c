package bench

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Call is one request of a load run: it returns how many rows (items) it
// carried, or an error.
type Call func(ctx context.Context, client int) (rows int, err error)

// Result is what a load run measured.
type Result struct {
	Requests int64
	Rows     int64
	Errors   int64
	Elapsed  time.Duration
	P50, P90 time.Duration
	P99      time.Duration
	FirstErr error
}

// RowsPerSec is the throughput in items.
func (r Result) RowsPerSec() float64 { return float64(r.Rows) / r.Elapsed.Seconds() }

// ClosedLoop runs clients goroutines, each sending its next request as soon
// as the last one answered, until total requests were sent (total > 0) or
// the duration passed (total == 0). Latencies are per request.
func ClosedLoop(ctx context.Context, clients int, total int64, duration time.Duration, call Call) Result {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if total == 0 {
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	var sent, rows, errs atomic.Int64
	var firstErr atomic.Pointer[error]
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && (total == 0 || sent.Add(1) <= total) {
				t := time.Now()
				n, err := call(ctx, c)
				if err != nil {
					if ctx.Err() != nil && total == 0 {
						return // the run ended mid-request
					}
					errs.Add(1)
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				lat[c] = append(lat[c], time.Since(t))
				rows.Add(int64(n))
			}
		}()
	}
	wg.Wait()
	r := Result{Rows: rows.Load(), Errors: errs.Load(), Elapsed: time.Since(start)}
	if p := firstErr.Load(); p != nil {
		r.FirstErr = *p
	}
	all := slices.Concat(lat...)
	r.Requests = int64(len(all)) + r.Errors
	r.P50, r.P90, r.P99 = Percentile(all, 0.50), Percentile(all, 0.90), Percentile(all, 0.99)
	return r
}

// Percentile returns the q-quantile (0..1) of the durations, by the
// nearest-rank method. It sorts d in place.
func Percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(math.Ceil(q*float64(len(d)))) - 1
	return d[max(0, min(i, len(d)-1))]
}
