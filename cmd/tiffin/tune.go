package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/onnx"
	"github.com/tiffin-ml/tiffin/bench"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

type tuneFlags struct {
	repo, model, device, sizes, windows, out, ortLib string
	instances, threads                               string
	clients, confirm                                 int
	duration, target                                 time.Duration
}

const tuneUsage = `Usage: tiffin tune --model-repository DIR --model M [flags]

Loads the model in-process and measures it as configured, then each max
batch size × batch window (and, with --instances, each instance plan) per
device group, with closed-loop clients; prints a line per setting as it
goes, a table, and the batching block to use (--out writes it). Ctrl-C
prints what was measured so far.

Flags:
`

func tuneCmd(args []string, stdout, stderr io.Writer) int {
	var f tuneFlags
	fs := flag.NewFlagSet("tune", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, tuneUsage); fs.PrintDefaults() }
	fs.StringVar(&f.repo, "model-repository", "", "model repository `DIR` (required)")
	fs.StringVar(&f.model, "model", "", "model to tune (required)")
	fs.StringVar(&f.device, "device", "", "device group to sweep: cpu or gpu (default: every kind this host has)")
	fs.StringVar(&f.sizes, "sizes", "1,8,16,32,64", "max batch sizes to try")
	fs.StringVar(&f.windows, "windows", "0s,500us,1ms,2ms,5ms", "batch windows (max_queue_delay) to try")
	fs.StringVar(&f.instances, "instances", "", "CPU instance counts to sweep, e.g. 1,2 (default: the model's own groups)")
	fs.StringVar(&f.threads, "threads", "", "cores per CPU instance to sweep with --instances, e.g. 1,2 (default: the usable cores split between the instances)")
	fs.IntVar(&f.clients, "clients", 64, "concurrent closed-loop clients")
	fs.DurationVar(&f.duration, "duration", 2*time.Second, "measurement time per setting")
	fs.IntVar(&f.confirm, "confirm", 3, "measure the model as configured and the best setting again, alternately, this many times each (0: not)")
	fs.DurationVar(&f.target, "latency-target", 50*time.Millisecond, "p99 a recommended setting must meet")
	fs.StringVar(&f.out, "out", "", "write the recommended batching blocks to this file")
	fs.StringVar(&f.ortLib, "ort-library", onnx.DefaultLibraryPath(), "path to libonnxruntime.so")
	if err := parseFlags(fs, args); err != nil {
		return parseExit(err)
	}
	switch {
	case f.confirm < 0:
		fmt.Fprintln(stderr, "tiffin tune: --confirm must be 0 or more")
		return 2
	case f.clients < 1:
		fmt.Fprintln(stderr, "tiffin tune: --clients must be 1 or more")
		return 2
	case f.duration <= 0:
		fmt.Fprintln(stderr, "tiffin tune: --duration must be more than 0")
		return 2
	case f.target <= 0:
		fmt.Fprintf(stderr, "tiffin tune: --latency-target must be more than 0, got %s\n", f.target)
		return 2
	case f.device != "" && f.device != "cpu" && f.device != "gpu":
		fmt.Fprintf(stderr, "tiffin tune: --device %q: want cpu or gpu\n", f.device)
		return 2
	}
	if _, err := parseInts(f.sizes); err != nil {
		fmt.Fprintf(stderr, "tiffin tune: --sizes: %v\n", err)
		return 2
	}
	if _, err := parseDurations(f.windows); err != nil {
		fmt.Fprintf(stderr, "tiffin tune: --windows: %v\n", err)
		return 2
	}
	for name, v := range map[string]string{"--instances": f.instances, "--threads": f.threads} {
		if _, err := parseInts(v); v != "" && err != nil {
			fmt.Fprintf(stderr, "tiffin tune: %s: %v\n", name, err)
			return 2
		}
	}
	if f.threads != "" && f.instances == "" {
		fmt.Fprintln(stderr, "tiffin tune: --threads needs --instances")
		return 2
	}
	if f.repo == "" || f.model == "" {
		fmt.Fprintln(stderr, "tiffin tune: --model-repository and --model are required")
		return 2
	}
	if err := runTune(f, stdout); err != nil {
		fmt.Fprintf(stderr, "tiffin tune: %v\n", err)
		return 1
	}
	return 0
}

func runTune(f tuneFlags, stdout io.Writer) error {
	sizes, err := parseInts(f.sizes)
	if err != nil {
		return fmt.Errorf("--sizes: %w", err)
	}
	windows, err := parseDurations(f.windows)
	if err != nil {
		return fmt.Errorf("--windows: %w", err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dev, err := runtime.DiscoverDevices(quiet)
	if err != nil {
		return err
	}
	plans, err := f.corePlans(len(dev.Inventory().Cores))
	if err != nil {
		return err
	}
	groups := []string{"cpu"}
	if len(dev.GPU.Devices) > 0 {
		groups = append(groups, "gpu")
	}
	if f.device == "gpu" && len(dev.GPU.Devices) == 0 {
		return errors.New("--device gpu: this host has no GPU that NVML can see (tiffin devices shows the inventory)")
	}
	if f.device != "" {
		groups = []string{f.device}
	}
	ort := onnx.New(onnx.Options{LibraryPath: f.ortLib, Logger: quiet})
	defer ort.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Fprintf(stdout, "tuning %s: as configured, then %d settings per device group, %s each, %d clients\n",
		f.model, len(sizes)*len(windows)*max(len(plans), 1), f.duration, f.clients)
	o := bench.TuneOptions{
		Repository: f.repo, Model: f.model, Backends: backends.NewRegistry(ort), Inventory: dev.Inventory(),
		Groups: groups, Plans: plans, Sizes: sizes, Windows: windows, Clients: f.clients, Duration: f.duration,
		LatencyTarget: f.target, Log: quiet, Progress: stdout,
	}
	rows, best, err := bench.Tune(ctx, o)
	if err != nil && ctx.Err() != nil { // Ctrl-C: what was measured, and no recommendation
		if len(rows) > 0 {
			printTuneTable(stdout, rows, best, f.target)
		}
		return errors.New("interrupted: the table holds the settings measured before it (the one under way left out); nothing was recommended or written")
	}
	if err != nil {
		return err
	}
	printTuneTable(stdout, rows, best, f.target)
	if err := writeRecommendation(f.out, stdout, groups, rows, best, f.target); err != nil {
		return err
	}
	for _, r := range rows {
		if !r.AsConfigured || f.confirm == 0 {
			continue
		}
		c, err := bench.Confirm(ctx, o, r, best[r.Group], f.confirm)
		if err != nil {
			return fmt.Errorf("measuring again (the recommendation above stands): %w", err)
		}
		fmt.Fprintf(stdout, "\n%s measured again, alternately: as configured %s rows/s, best %s rows/s: %.2f of the best (medians)\n",
			r.Group, joinRates(c.AsConfigured), joinRates(c.Best), c.Ratio())
	}
	return nil
}

func printTuneTable(w io.Writer, rows []bench.TuneRow, best map[string]bench.TuneRow, target time.Duration) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "DEVICE\tPLAN\tBATCH\tWINDOW\tROWS/S\tP50\tP99\t\t")
	for _, r := range rows {
		plan, window, mark := r.Plan.String(), r.Window.String(), ""
		switch b := best[r.Group]; {
		case r.AsConfigured:
			plan, window, mark = "config", r.Mode, "<- as configured"
			if r.Mode == config.BatchStatic {
				window = r.Window.String()
			}
		case b.Plan == r.Plan && b.MaxBatch == r.MaxBatch && b.Window == r.Window:
			mark = "<- best"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.0f\t%s\t%s\t%s\t\n", r.Group, plan, r.MaxBatch, window, r.Result.RowsPerSec(),
			r.Result.P50.Round(time.Microsecond), r.Result.P99.Round(time.Microsecond), mark)
	}
	tw.Flush()
	fmt.Fprintf(w, "best: the most rows/s with p99 within %s\n", target)
	for _, r := range rows {
		if r.AsConfigured {
			fmt.Fprintln(w, asConfiguredLine(r, best[r.Group], target))
		}
	}
}

// asConfiguredLine compares a group's as-configured row with the best
// setting the sweep found.
func asConfiguredLine(cur, best bench.TuneRow, target time.Duration) string {
	s := fmt.Sprintf("%s as configured (%s): %.0f rows/s", cur.Group, cur.Setting(), cur.Result.RowsPerSec())
	if b := best.Result.RowsPerSec(); b > 0 {
		s += fmt.Sprintf(", %.2f of the best", cur.Result.RowsPerSec()/b)
	}
	switch {
	case cur.Result.P99 > target:
		s += fmt.Sprintf("; its p99 %s is past %s", cur.Result.P99.Round(time.Microsecond), target)
	case cur.Result.RowsPerSec() >= best.Result.RowsPerSec():
		s += "; no setting swept beats it: keep the config (the block below is the best swept)"
	}
	return s
}

// writeRecommendation prints, and writes to path, each group's best
// setting swept: as the one to use, or, when the model as configured did
// as well within the target, as the best of the others (keep the config).
func writeRecommendation(path string, stdout io.Writer, groups []string, rows []bench.TuneRow, best map[string]bench.TuneRow, target time.Duration) error {
	var b strings.Builder
	for _, g := range groups {
		head := fmt.Sprintf("# recommended for %s instances (config.yaml, or under %q in a --devices file)", g, g)
		for _, r := range rows {
			if r.AsConfigured && r.Group == g && r.Result.P99 <= target && r.Result.RowsPerSec() >= best[g].Result.RowsPerSec() {
				head = fmt.Sprintf("# %s instances: the config as it is did as well as any setting swept; keep it. The best swept:", g)
			}
		}
		b.WriteString(head + "\n")
		b.WriteString(bench.BatchingYAML(best[g]))
	}
	fmt.Fprintf(stdout, "\n%s", b.String())
	if path == "" {
		return nil
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// corePlans crosses --instances with --threads; a missing --threads splits
// the cores between the instances.
func (f tuneFlags) corePlans(cores int) ([]bench.CorePlan, error) {
	if f.instances == "" {
		if f.threads != "" {
			return nil, fmt.Errorf("--threads needs --instances")
		}
		return nil, nil
	}
	instances, err := parseInts(f.instances)
	if err != nil {
		return nil, fmt.Errorf("--instances: %w", err)
	}
	if f.threads == "" {
		var plans []bench.CorePlan
		for _, n := range instances {
			plans = append(plans, bench.CorePlans([]int{n}, []int{max(cores/max(n, 1), 1)}, cores)...)
		}
		return plans, nil
	}
	threads, err := parseInts(f.threads)
	if err != nil {
		return nil, fmt.Errorf("--threads: %w", err)
	}
	plans := bench.CorePlans(instances, threads, cores)
	if len(plans) == 0 {
		return nil, fmt.Errorf("no plan of --instances %s × --threads %s fits in %d usable cores", f.instances, f.threads, cores)
	}
	return plans, nil
}

func joinRates(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strings.Join(s, ", ")
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a whole number >= 1", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseDurations(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		switch {
		case err != nil:
			return nil, fmt.Errorf("%q is not a duration such as 2ms", f)
		case d < 0:
			return nil, fmt.Errorf("%q is negative; a window is 0s or more", f)
		}
		out = append(out, d)
	}
	return out, nil
}
