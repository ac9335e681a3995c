package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
)

// Options configure a load run against a server.
type Options struct {
	Target      Target
	Model       string
	Batch       int       // rows per request; default 1
	Concurrency []int     // closed-loop levels
	Rates       []float64 // open-loop levels, requests/s
	Arrivals    string    // Poisson or Uniform
	Workers     int       // open-loop sender pool
	Duration    time.Duration
	Warmup      time.Duration
	Version     string    // the tool's version, for the report
	Progress    io.Writer // live line and per-level summaries; nil for none
	TTY         bool      // Progress is a terminal: redraw the line in place
	// MetricsURL is the server's Prometheus endpoint: each level reports
	// the server's CPU time per request from it. Empty: not reported.
	MetricsURL string
	// MetricsTLS is how an https:// MetricsURL is reached; nil: the
	// system's roots.
	MetricsTLS *tls.Config
	// Baseline is the backend alone (a --baseline report): each level
	// reports compute inflation against it. Nil: not reported.
	Baseline *Baseline
}

// Run fetches the model's metadata, synthesises one request, warms the
// server up, then measures each closed-loop concurrency and each open-loop
// rate in turn, reading the server's statistics around each level for its
// mean batch size.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.Batch = max(o.Batch, 1)
	if len(o.Concurrency) == 0 && len(o.Rates) == 0 {
		return nil, errors.New("give at least one concurrency or rate")
	}
	md, err := o.Target.Metadata(ctx, o.Model)
	if err != nil {
		return nil, err
	}
	if err := CheckSynthesisable(o.Model, md.Inputs, o.Batch); err != nil {
		return nil, err
	}
	inputs := SyntheticInputs(md.Inputs, o.Batch, 1)
	call, err := o.Target.Caller(o.Model, inputs, o.Batch)
	if err != nil {
		return nil, err
	}
	rep := NewReport(o.Version, o.config(inputs))
	if err := o.warmup(ctx, call); err != nil {
		return nil, err
	}
	for _, c := range o.Concurrency {
		if ctx.Err() != nil {
			break // interrupted: the levels not started are left out, not reported as empty
		}
		l := o.level(ctx, fmt.Sprintf("c=%d", c), func(live *Live) Level {
			return RunClosed(ctx, c, o.Duration, live, call)
		})
		rep.Levels = append(rep.Levels, l)
	}
	for i, r := range o.Rates {
		if ctx.Err() != nil {
			break
		}
		l := o.level(ctx, fmt.Sprintf("r=%g", r), func(live *Live) Level {
			return OpenLoop(ctx, OpenOptions{Rate: r, Duration: o.Duration, Arrivals: o.Arrivals,
				Workers: o.Workers, Seed: int64(i + 1), Live: live}, call)
		})
		rep.Levels = append(rep.Levels, l)
	}
	return rep, ctx.Err()
}

func (o Options) config(inputs []backends.Tensor) Config {
	cfg := Config{
		Model: o.Model, Protocol: o.Target.Protocol(), Target: o.Target.Address(), Batch: o.Batch,
		Concurrency: o.Concurrency, Rates: o.Rates, DurationS: o.Duration.Seconds(), WarmupS: o.Warmup.Seconds(),
	}
	if len(o.Rates) > 0 {
		cfg.Arrivals, cfg.Workers = o.Arrivals, o.Workers
	}
	for _, t := range inputs {
		cfg.Inputs = append(cfg.Inputs, InputSpec{Name: t.Name, Datatype: t.DataType.String(), Shape: t.Shape})
	}
	return cfg
}

// warmup runs closed-loop at the highest concurrency (so every connection
// is open) and fails when every request failed: the server cannot serve
// this request at all, and the levels would measure nothing.
func (o Options) warmup(ctx context.Context, call Call) error {
	if o.Warmup <= 0 {
		return nil
	}
	clients := 4
	if len(o.Concurrency) > 0 {
		clients = slices.Max(o.Concurrency)
	}
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "warming up %s over %s for %s, %d clients\n", o.Model, o.Target.Protocol(), o.Warmup, clients)
	}
	l := RunClosed(ctx, clients, o.Warmup, nil, call)
	if l.Errors > 0 && l.Errors == l.Requests {
		return fmt.Errorf("every warm-up request to %s failed (%d): %s", o.Model, l.Errors, l.FirstError)
	}
	return ctx.Err()
}

// level runs one level with its progress line and the server's statistics
// read before and after.
func (o Options) level(ctx context.Context, label string, run func(*Live) Level) Level {
	before, errBefore := o.Target.Stats(ctx, o.Model)
	cpuBefore, errCPU := o.cpuSeconds(ctx)
	live := &Live{}
	stop := startProgress(o.Progress, o.TTY, label, o.Duration, live)
	l := run(live)
	stop()
	cpuAfter, errCPUAfter := o.cpuSeconds(ctx)
	after, errAfter := o.Target.Stats(ctx, o.Model)
	if errCPU == nil && errCPUAfter == nil && l.Requests > 0 {
		us := (cpuAfter - cpuBefore) * 1e6 / float64(l.Requests)
		l.ServerCPUUsPerReq = &us
	}
	if inf, ok := Inflation(before, after, o.Baseline); ok && errBefore == nil && errAfter == nil {
		l.ComputeInflation = &inf
	}
	switch mean, ok := MeanBatch(before, after); {
	case errBefore != nil:
		l.MeanBatchNote = "n/a: " + errBefore.Error()
	case errAfter != nil:
		l.MeanBatchNote = "n/a: " + errAfter.Error()
	case !ok:
		l.MeanBatchNote = "n/a: the server's statistics counted no executions"
	default:
		l.MeanBatch = &mean
		l.ServerQueueMs, l.ServerComputeMs = meanMs(before.Queue, after.Queue), meanMs(before.Compute, after.Compute)
	}
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "  %-10s %9.0f req/s %10.0f rows/s  p50 %8.3f ms  p99 %8.3f ms  %d errors  mean batch %s%s\n",
			label, l.RequestsPerSec, l.RowsPerSec, l.Latency.P50Ms, l.Latency.P99Ms, l.Errors, meanBatchText(l), serverSideText(l))
	}
	return l
}

// cpuSeconds is the server's CPU time so far; an error without MetricsURL.
func (o Options) cpuSeconds(ctx context.Context) (float64, error) {
	if o.MetricsURL == "" {
		return 0, errors.New("no metrics URL")
	}
	return CPUSeconds(ctx, o.MetricsURL, o.MetricsTLS)
}

// serverSideText is the server's CPU per request and compute inflation,
// where measured.
func serverSideText(l Level) string {
	s := ""
	if l.ServerCPUUsPerReq != nil {
		s += fmt.Sprintf("  server cpu %.1f µs/req", *l.ServerCPUUsPerReq)
	}
	if l.ComputeInflation != nil {
		s += fmt.Sprintf("  compute inflation %.2f×", *l.ComputeInflation)
	}
	return s
}
