package bench

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
)

// slowServer answers every inference after sleeping d: a server that
// can serve one request at a time when the client sends one at a time.
func slowServer(t *testing.T, d time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(d)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"outputs":[]}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func slowCaller(t *testing.T, srv *httptest.Server) Call {
	t.Helper()
	target, err := NewHTTPTarget(srv.URL, false, 1, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { target.Close() })
	in := SyntheticInputs([]backends.TensorSpec{{Name: "x", DataType: backends.FP32, Shape: []int64{-1, 4}}}, 1, 1)
	call, err := target.Caller("slow", in, 1)
	if err != nil {
		t.Fatal(err)
	}
	return call
}

// One worker against a server taking 20ms per request, asked for a
// request every 5ms: request i cannot be answered before (i+1)·20ms from
// the start, though it was due at i·5ms. Latency from the intended time
// must include that wait to be sent; latency from the actual send would
// stay near 20ms (coordinated omission).
func TestBenchOpenLoopCountsTimeWaitingToSend(t *testing.T) {
	const service, gap, n = 20 * time.Millisecond, 5 * time.Millisecond, 60
	call := slowCaller(t, slowServer(t, service))
	l := OpenLoop(context.Background(), OpenOptions{Rate: float64(time.Second / gap), Duration: n * gap,
		Arrivals: Uniform, Workers: 1, Backlog: 1000}, call)
	if l.Errors != 0 {
		t.Fatalf("%d errors, first: %s", l.Errors, l.FirstError)
	}
	if l.Sends == nil || l.Sends.Scheduled != n || l.Sends.Dropped != 0 || l.Requests != n {
		t.Fatalf("sends %+v, %d requests answered; want %d scheduled, none dropped, all answered", l.Sends, l.Requests, n)
	}
	// The last request was due at (n-1)·gap and answered at n·service at
	// the earliest.
	floor := ms(n*service - (n-1)*gap)
	if l.Latency.MaxMs < floor {
		t.Errorf("max latency %.1fms, want at least %.1fms: the wait to be sent is missing", l.Latency.MaxMs, floor)
	}
	if l.Latency.MinMs < ms(service) {
		t.Errorf("min latency %.1fms is below the server's %s", l.Latency.MinMs, service)
	}
	if l.Sends.Late < n/2 || l.Sends.MaxLagMs < floor-ms(service) {
		t.Errorf("sends %+v: want most requests late, by up to %.0fms", l.Sends, floor-ms(service))
	}
}

// With one worker and room for one waiting request, a fast schedule
// against a slow server must drop requests, and say so.
func TestBenchOpenLoopReportsDrops(t *testing.T) {
	call := slowCaller(t, slowServer(t, 20*time.Millisecond))
	l := OpenLoop(context.Background(), OpenOptions{Rate: 1000, Duration: 100 * time.Millisecond,
		Arrivals: Uniform, Workers: 1, Backlog: 1}, call)
	if l.Sends.Dropped == 0 {
		t.Fatalf("sends %+v: want drops", l.Sends)
	}
	if l.Requests+l.Sends.Dropped != l.Sends.Scheduled {
		t.Errorf("%d answered + %d dropped != %d scheduled", l.Requests, l.Sends.Dropped, l.Sends.Scheduled)
	}
}

func TestBenchArrivals(t *testing.T) {
	const rate, n = 500.0, 200000
	want := time.Second / rate
	if g := arrivals(Uniform, rate, 1)(); g != want {
		t.Errorf("uniform gap %s, want %s", g, want)
	}
	next := arrivals(Poisson, rate, 1)
	var sum time.Duration
	distinct := map[time.Duration]bool{}
	for range n {
		g := next()
		sum += g
		distinct[g] = true
	}
	if mean := sum / n; mean < want*98/100 || mean > want*102/100 {
		t.Errorf("poisson mean gap %s, want %s ±2%%", mean, want)
	}
	if len(distinct) < n/2 {
		t.Errorf("poisson gaps take %d distinct values of %d", len(distinct), n)
	}
}

// A call that fails at the run's deadline itself, as gRPC's
// DeadlineExceeded can before the context says it is done, is cut off by
// the run's end, not counted as an error: the run's deadline is its end.
func TestRunClosedCallFailingAtTheDeadline(t *testing.T) {
	for range 5 {
		l := RunClosed(context.Background(), 2, 30*time.Millisecond, nil, func(ctx context.Context, _ int) (int, error) {
			dl, _ := ctx.Deadline()
			for time.Now().Before(dl) {
				if time.Until(dl) > time.Millisecond {
					return 1, nil // answered well before the end
				}
			}
			return 0, errors.New("rpc error: code = DeadlineExceeded")
		})
		if l.Errors != 0 {
			t.Fatalf("%d errors from calls cut off at the run's deadline: %s", l.Errors, l.FirstError)
		}
	}
}
