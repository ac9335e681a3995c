package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

// TuneOptions configure a batch-window sweep of one model.
type TuneOptions struct {
	Repository string
	Model      string
	Backends   *backends.Registry
	Inventory  runtime.Inventory
	Groups     []string // device groups to sweep: cpu, gpu
	// Plans are the CPU plans to sweep: instances × threads per instance.
	// Empty: the model's own instance groups only.
	Plans         []CorePlan
	Sizes         []int // max batch sizes to try
	Windows       []time.Duration
	Clients       int           // concurrent closed-loop clients, one row each
	Duration      time.Duration // per setting
	LatencyTarget time.Duration // p99 a recommendation must meet
	Log           *slog.Logger
	Progress      io.Writer // one line per setting; nil for none
}

// CorePlan is how a CPU group spends the cores: Instances instances of
// Threads cores each (ONNX Runtime's intra-op threads), on the first
// Instances·Threads usable cores.
type CorePlan struct {
	Instances, Threads int
}

func (p CorePlan) String() string {
	if p.Instances == 0 {
		return "model's"
	}
	return fmt.Sprintf("%dx%d", p.Instances, p.Threads)
}

// CorePlans crosses instance counts with threads per instance, keeping the
// plans that fit in cores usable cores.
func CorePlans(instances, threads []int, cores int) []CorePlan {
	var out []CorePlan
	for _, n := range instances {
		for _, t := range threads {
			if n >= 1 && t >= 1 && n*t <= cores {
				out = append(out, CorePlan{Instances: n, Threads: t})
			}
		}
	}
	return out
}

// TuneRow is one setting's measurement.
type TuneRow struct {
	Group    string
	Plan     CorePlan // the zero plan: the model's own instance groups
	Cores    []int    // the CPUs the plan used
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
		plans := []CorePlan{{}}
		if g == "cpu" && len(o.Plans) > 0 {
			plans = o.Plans
		}
		for _, plan := range plans {
			for _, size := range o.Sizes {
				for _, win := range o.Windows {
					row, err := tuneOne(ctx, o, TuneRow{Group: g, Plan: plan, MaxBatch: size, Window: win})
					if err != nil {
						return rows, best, err
					}
					if o.Progress != nil {
						fmt.Fprintf(o.Progress, "  %-4s plan %-7s batch %4d window %-8s %10.0f rows/s  p50 %-10s p99 %s\n",
							g, plan, size, win, row.Result.RowsPerSec(), row.Result.P50.Round(time.Microsecond), row.Result.P99.Round(time.Microsecond))
					}
					rows = append(rows, row)
					if better(row, best[g], o.LatencyTarget) {
						best[g] = row
					}
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

func tuneOne(ctx context.Context, o TuneOptions, row TuneRow) (TuneRow, error) {
	group, size, window := row.Group, row.MaxBatch, row.Window
	if row.Plan.Instances > 0 {
		row.Cores = planCores(o.Inventory, row.Plan)
	}
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
			if row.Plan.Instances > 0 {
				cfg.InstanceGroups = []config.InstanceGroup{{Kind: group, Count: row.Plan.Instances, Cores: row.Cores}}
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
	row.Result = res
	return row, nil
}

// planCores is the first Instances·Threads usable CPUs, one per physical
// core (SMT siblings left out).
func planCores(inv runtime.Inventory, p CorePlan) []int {
	var cpus []int
	for _, c := range inv.Cores {
		if len(cpus) == p.Instances*p.Threads {
			break
		}
		cpus = append(cpus, c[0])
	}
	return cpus
}

// BatchingYAML renders a recommendation as the config.yaml lines it stands
// for, with its instance group when the sweep chose a CPU plan.
func BatchingYAML(r TuneRow) string {
	s := fmt.Sprintf("max_batch_size: %d\nbatching:\n  mode: static\n  max_queue_delay: %s\n  preferred_batch_sizes: [%d]\n",
		r.MaxBatch, r.Window, r.MaxBatch)
	if r.Plan.Instances > 0 {
		cores := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(r.Cores)), ", "), "[]")
		s += fmt.Sprintf("instance_groups:\n  - kind: %s\n    count: %d\n    cores: [%s]  # %d per instance\n",
			r.Group, r.Plan.Instances, cores, r.Plan.Threads)
	}
	return s
}
