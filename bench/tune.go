package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

// TuneOptions configure a batch-window sweep of one model.
type TuneOptions struct {
	Repository    string
	Model         string
	Backends      *backends.Registry
	Inventory     runtime.Inventory
	Groups        []string // device groups to sweep: cpu, gpu
	Sizes         []int    // max batch sizes to try
	Windows       []time.Duration
	Clients       int           // concurrent closed-loop clients, one row each
	Duration      time.Duration // per setting
	LatencyTarget time.Duration // p99 a recommendation must meet
	Log           *slog.Logger
	Progress      io.Writer // one line per setting; nil for none
}

// TuneRow is one setting's measurement.
type TuneRow struct {
	Group    string
	MaxBatch int
	Window   time.Duration
	Result   Result
}

// Tune measures every (group, size, window) setting with the model loaded
// in-process, static batching, and closed-loop clients sending one row
// each. It returns the rows and, per group, the fastest setting whose p99
// meets the latency target (or the lowest p99 when none does).
func Tune(ctx context.Context, o TuneOptions) ([]TuneRow, map[string]TuneRow, error) {
	var rows []TuneRow
	best := map[string]TuneRow{}
	for _, g := range o.Groups {
		for _, size := range o.Sizes {
			for _, win := range o.Windows {
				row, err := tuneOne(ctx, o, g, size, win)
				if err != nil {
					return rows, best, err
				}
				if o.Progress != nil {
					fmt.Fprintf(o.Progress, "  %-4s batch %4d window %-8s %10.0f rows/s  p50 %-10s p99 %s\n",
						g, size, win, row.Result.RowsPerSec(), row.Result.P50.Round(time.Microsecond), row.Result.P99.Round(time.Microsecond))
				}
				rows = append(rows, row)
				if better(row, best[g], o.LatencyTarget) {
					best[g] = row
				}
			}
		}
	}
	return rows, best, nil
}

func better(a, b TuneRow, target time.Duration) bool {
	if b.MaxBatch == 0 {
		return true
	}
	aOK, bOK := a.Result.P99 <= target, b.Result.P99 <= target
	switch {
	case aOK != bOK:
		return aOK
	case aOK:
		return a.Result.RowsPerSec() > b.Result.RowsPerSec()
	}
	return a.Result.P99 < b.Result.P99
}

func tuneOne(ctx context.Context, o TuneOptions, group string, size int, window time.Duration) (TuneRow, error) {
	m := runtime.NewManager(runtime.ManagerOptions{
		Repository: o.Repository, Backends: o.Backends, Inventory: o.Inventory, Logger: o.Log,
		Override: func(name string, cfg *config.Model) error {
			cfg.MaxBatchSize = &size
			cfg.Batching.Mode, cfg.Batching.MaxQueueDelay = config.BatchStatic, config.Opt(window)
			cfg.Batching.PreferredBatchSizes = nil
			cfg.Batching.MaxQueueSize = max(cfg.Batching.MaxQueueSize, 4*o.Clients)
			for i := range cfg.InstanceGroups {
				cfg.InstanceGroups[i].Kind = group
			}
			if len(cfg.InstanceGroups) == 0 {
				cfg.InstanceGroups = []config.InstanceGroup{{Kind: group, Count: 1}}
			}
			return nil
		},
	})
	defer m.Close(context.Background())
	if err := m.Load(ctx, o.Model); err != nil {
		return TuneRow{}, fmt.Errorf("load %s for %s batch %d: %w", o.Model, group, size, err)
	}
	v, err := m.Version(o.Model, 0)
	if err != nil {
		return TuneRow{}, err
	}
	in := SyntheticInputs(v.Sig.Inputs, 1, 1)
	call := func(ctx context.Context, _ int) (int, error) {
		_, err := m.Infer(ctx, &runtime.InferRequest{Model: o.Model, Inputs: append([]backends.Tensor(nil), in...)})
		return 1, err
	}
	ClosedLoop(ctx, o.Clients, 0, o.Duration/5, call) // warm-up
	res := ClosedLoop(ctx, o.Clients, 0, o.Duration, call)
	if res.Errors > 0 {
		return TuneRow{}, fmt.Errorf("%s batch %d window %s: %d errors, first: %w", group, size, window, res.Errors, res.FirstErr)
	}
	return TuneRow{Group: group, MaxBatch: size, Window: window, Result: res}, nil
}

// BatchingYAML renders a recommendation as the config.yaml lines it stands
// for.
func BatchingYAML(r TuneRow) string {
	return fmt.Sprintf("max_batch_size: %d\nbatching:\n  mode: static\n  max_queue_delay: %s\n  preferred_batch_sizes: [%d]\n",
		r.MaxBatch, r.Window, r.MaxBatch)
}
