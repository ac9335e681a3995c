package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
)

// BaselineOptions configure an in-process run of one model straight
// through a backend: no server, no wire, no batcher.
type BaselineOptions struct {
	Backend    backends.Backend
	Repository string // the model file is Repository/Model/<newest>/<a file the backend loads>
	Model      string
	Threads    int // the instance's threads; default GOMAXPROCS
	// Device is where the instance runs; the zero value is the CPU.
	Device   backends.Device
	Batches  []int // batch sizes; default 1, 8, 32, 64
	Duration time.Duration
	Progress io.Writer // one line per batch size; nil for none
}

// Baseline is the backend's ceiling: rows/s and latency per run at each
// batch size.
type Baseline struct {
	Backend   string        `json:"backend"`
	Device    string        `json:"device"` // "cpu", "cpu[0 1]" when pinned, or "gpuN"
	ModelPath string        `json:"model_path"`
	Threads   int           `json:"threads"`
	Rows      []BaselineRow `json:"rows"`
}

// BaselineRow is one batch size; Latency is per Model.Run.
type BaselineRow struct {
	Batch      int     `json:"batch"`
	Runs       int64   `json:"runs"`
	RowsPerSec float64 `json:"rows_per_s"`
	Latency    Latency `json:"latency"`
}

// ModelFile finds the newest version of the model in the repository that
// holds a file the backend loads (its Description's ModelFiles), and
// returns that file.
func ModelFile(b backends.Backend, repo, model string) (string, error) {
	entries, err := os.ReadDir(filepath.Join(repo, model))
	if err != nil {
		return "", fmt.Errorf("model %q is not in repository %s: %w", model, repo, err)
	}
	files := b.Describe().ModelFiles
	best, path := int64(-1), ""
	for _, e := range entries {
		v, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil || !e.IsDir() || v <= best {
			continue
		}
		for _, f := range files {
			if p := filepath.Join(repo, model, e.Name(), f); fileExists(p) {
				best, path = v, p
				break
			}
		}
	}
	if best < 0 {
		return "", fmt.Errorf("model %q in %s has no <version>/{%s} for backend %s", model, repo, strings.Join(files, ","), b.Name())
	}
	return path, nil
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// RunBaseline loads one instance of the model and runs it back to back at
// each batch size for the duration, on one locked OS thread as the
// server's instance workers do.
func RunBaseline(ctx context.Context, o BaselineOptions) (*Baseline, error) {
	if o.Threads <= 0 {
		o.Threads = goruntime.GOMAXPROCS(0)
	}
	if len(o.Batches) == 0 {
		o.Batches = []int{1, 8, 32, 64}
	}
	path, err := ModelFile(o.Backend, o.Repository, o.Model)
	if err != nil {
		return nil, err
	}
	if err := o.Backend.Available(); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	out := &Baseline{Backend: o.Backend.Name(), Device: deviceName(o.Device), ModelPath: path, Threads: o.Threads}
	done := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		defer goruntime.UnlockOSThread()
		done <- baselineRuns(ctx, o, path, out)
	}()
	return out, <-done
}

func baselineRuns(ctx context.Context, o BaselineOptions, path string, out *Baseline) error {
	m, err := o.Backend.Load(ctx, backends.LoadSpec{Model: o.Model, Version: 1, Path: path,
		Device: o.Device, Threads: o.Threads, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("baseline: load %s: %w", path, err)
	}
	defer m.Close()
	inputs := m.Metadata().Inputs
	for _, batch := range o.Batches {
		if err := CheckSynthesisable(o.Model, inputs, batch); err != nil {
			return err
		}
		row, err := baselineBatch(ctx, m, SyntheticInputs(inputs, batch, 1), batch, o.Duration)
		if err != nil {
			return fmt.Errorf("baseline: %s batch %d: %w", o.Model, batch, err)
		}
		out.Rows = append(out.Rows, row)
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "  baseline %-10s batch %3d %11.0f rows/s  p50 %.3f ms per run\n",
				o.Model, batch, row.RowsPerSec, row.Latency.P50Ms)
		}
	}
	return nil
}

// baselineBatch warms the model up on the inputs (a tenth of the
// duration), then runs it back to back for the duration.
func baselineBatch(ctx context.Context, m backends.Model, in []backends.Tensor, batch int, d time.Duration) (BaselineRow, error) {
	var lat []time.Duration
	for _, span := range []time.Duration{d / 10, d} {
		lat = lat[:0]
		start := time.Now()
		for time.Since(start) < span && ctx.Err() == nil {
			t := time.Now()
			if _, err := m.Run(ctx, in); err != nil {
				return BaselineRow{}, err
			}
			lat = append(lat, time.Since(t))
		}
	}
	var total time.Duration
	for _, l := range lat {
		total += l
	}
	row := BaselineRow{Batch: batch, Runs: int64(len(lat)), Latency: Summarize(lat)}
	if total > 0 {
		row.RowsPerSec = float64(len(lat)*batch) / total.Seconds()
	}
	return row, ctx.Err()
}

// deviceName is where a baseline ran, as its report says it: "cpu", the
// cores when it was pinned to some ("cpu[0 1]"), or "gpuN".
func deviceName(d backends.Device) string {
	if d.Kind == backends.CPU && len(d.Cores) == 0 {
		return "cpu"
	}
	return d.LogValue().String()
}
