package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
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
	Group string
	// AsConfigured marks the model measured as its own config (or, with
	// none, tiffin's defaults) serves it: the figure the sweep is compared
	// with. Its MaxBatch and Window are the config's, Mode its batching
	// mode, Instances its instance count.
	AsConfigured bool
	Mode         string
	Instances    int
	Plan         CorePlan // the zero plan: the model's own instance groups
	Cores        []int    // the CPUs the plan used
	MaxBatch     int
	Window       time.Duration
	Result       Result
}

// Tune measures the model as configured, then every (group, plan, size,
// window) setting, with the model loaded in-process, static batching, and
// closed-loop clients sending one row each. It returns the rows (each
// group's as-configured row first) and, per group, the fastest swept
// setting whose p99 meets the latency target (or the lowest p99 when none
// does).
func Tune(ctx context.Context, o TuneOptions) ([]TuneRow, map[string]TuneRow, error) {
	var rows []TuneRow
	best := map[string]TuneRow{}
	for _, g := range o.Groups {
		row, err := tuneOne(ctx, o, TuneRow{Group: g, AsConfigured: true})
		if ctx.Err() != nil { // interrupted: this setting was cut short, and no other is tried
			return rows, best, ctx.Err()
		}
		if err != nil {
			return rows, best, err
		}
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "  %-4s as configured: %s %10.0f rows/s  p50 %-10s p99 %s\n",
				g, row.Setting(), row.Result.RowsPerSec(), row.Result.P50.Round(time.Microsecond), row.Result.P99.Round(time.Microsecond))
		}
		rows = append(rows, row)
		plans := []CorePlan{{}}
		if g == "cpu" && len(o.Plans) > 0 {
			plans = o.Plans
		}
		for _, plan := range plans {
			for _, size := range o.Sizes {
				for _, win := range o.Windows {
					row, err := tuneOne(ctx, o, TuneRow{Group: g, Plan: plan, MaxBatch: size, Window: win})
					if ctx.Err() != nil {
						return rows, best, ctx.Err()
					}
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

// Setting describes an as-configured row's batching and instances, as
// "adaptive, max batch 64, 1 instance".
func (r TuneRow) Setting() string {
	s := r.Mode
	if r.Mode == config.BatchStatic {
		s += fmt.Sprintf(" window %s", r.Window)
	}
	s += fmt.Sprintf(", max batch %d, %d instance", r.MaxBatch, r.Instances)
	if r.Instances != 1 {
		s += "s"
	}
	return s
}

// label names the setting in errors.
func (r TuneRow) label() string {
	if r.AsConfigured {
		return r.Group + " as configured"
	}
	return fmt.Sprintf("%s plan %s batch %d window %s", r.Group, r.Plan, r.MaxBatch, r.Window)
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
			cfg.Batching.MaxQueueSize = max(cfg.Batching.MaxQueueSize, 4*o.Clients)
			for i := range cfg.InstanceGroups {
				cfg.InstanceGroups[i].Kind = group
			}
			if len(cfg.InstanceGroups) == 0 {
				cfg.InstanceGroups = []config.InstanceGroup{{Kind: group, Count: 1}}
			}
			if row.AsConfigured {
				return nil
			}
			cfg.MaxBatchSize = &size
			cfg.Batching.Mode, cfg.Batching.MaxQueueDelay = config.BatchStatic, config.Opt(window)
			cfg.Batching.PreferredBatchSizes = nil
			if row.Plan.Instances > 0 {
				cfg.InstanceGroups = []config.InstanceGroup{{Kind: group, Count: row.Plan.Instances, Cores: row.Cores}}
			}
			return nil
		},
	})
	defer m.Close(context.Background())
	if err := m.Load(ctx, o.Model); err != nil {
		return TuneRow{}, fmt.Errorf("load %s for %s: %w", o.Model, row.label(), err)
	}
	v, err := m.Version(o.Model, 0)
	if err != nil {
		return TuneRow{}, err
	}
	if row.AsConfigured {
		row.MaxBatch, row.Mode, row.Window = 1, v.Config.Batching.Mode, time.Duration(v.Config.Batching.MaxQueueDelay.Duration)
		if v.Config.MaxBatchSize != nil {
			row.MaxBatch = max(*v.Config.MaxBatchSize, 1)
		}
		for _, g := range v.Config.InstanceGroups {
			row.Instances += max(g.Count, 1)
		}
	}
	in := SyntheticInputs(v.Sig.Inputs, 1, 1)
	call := func(ctx context.Context, _ int) (int, error) {
		_, err := m.Infer(ctx, &runtime.InferRequest{Model: o.Model, Inputs: append([]backends.Tensor(nil), in...)})
		return 1, err
	}
	ClosedLoop(ctx, o.Clients, 0, o.Duration/5, call) // warm-up
	res := ClosedLoop(ctx, o.Clients, 0, o.Duration, call)
	if res.Errors > 0 {
		return TuneRow{}, fmt.Errorf("%s: %d errors, first: %w", row.label(), res.Errors, res.FirstErr)
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

// Confirmation is the model as configured and the sweep's best measured
// again, alternately, Rounds times each: a sweep's best is the luckiest
// of many noisy measurements, so comparing the two as swept flatters it.
type Confirmation struct {
	AsConfigured, Best []float64 // rows/s, one per round
}

// Ratio is the median as-configured rows/s over the best's median.
func (c Confirmation) Ratio() float64 {
	b := median(c.Best)
	if b == 0 {
		return 0
	}
	return median(c.AsConfigured) / b
}

// Confirm measures cur (an as-configured row) and best alternately, rounds
// times each.
func Confirm(ctx context.Context, o TuneOptions, cur, best TuneRow, rounds int) (Confirmation, error) {
	var c Confirmation
	for range rounds {
		for _, r := range []TuneRow{cur, best} {
			got, err := tuneOne(ctx, o, TuneRow{Group: r.Group, AsConfigured: r.AsConfigured, Plan: r.Plan, MaxBatch: r.MaxBatch, Window: r.Window})
			if err != nil {
				return c, err
			}
			if r.AsConfigured {
				c.AsConfigured = append(c.AsConfigured, got.Result.RowsPerSec())
			} else {
				c.Best = append(c.Best, got.Result.RowsPerSec())
			}
		}
	}
	return c, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
