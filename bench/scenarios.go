package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
)

// ScenarioOptions configure the server scenarios behind `make bench`.
type ScenarioOptions struct {
	HTTP, GRPC string // the running tiffin's HTTP URL and gRPC address
	Repository string // its model repository, for the baselines
	Backend    backends.Backend
	Dir        string        // results go to Dir/<scenario>.json and .svg, the tables to Dir/scenarios.md
	Duration   time.Duration // per level (the baselines: per batch size, half of it)
	Warmup     time.Duration
	Timeout    time.Duration
	Token      string // bearer token for the server's --inference-token; "" for none
	Version    string
	Progress   io.Writer
	TTY        bool
}

// scenario is one `tiffin bench` run of the suite.
type scenario struct {
	name        string // results file stem
	model       string
	protocol    string // http-json | http-binary | grpc | bare-http
	concurrency []int
	rates       []float64
}

var closedLevels = []int{1, 8, 32, 64}

// openWorkers is the open-loop sender pool: enough that a rate near the
// server's capacity does not saturate it.
const openWorkers = 256

// scenarios are the load runs of the suite. The open-loop run's rates are
// set from the closed-loop results (half and four fifths of the best).
var scenarios = []scenario{
	{name: "bare-http", model: "bare", protocol: "bare-http", concurrency: closedLevels},
	{name: "mlp-small-http-json", model: "mlp-small", protocol: "http-json", concurrency: closedLevels},
	{name: "mlp-small-http-binary", model: "mlp-small", protocol: "http-binary", concurrency: closedLevels},
	{name: "mlp-small-grpc", model: "mlp-small", protocol: "grpc", concurrency: closedLevels},
	{name: "mlp-large-http-binary", model: "mlp-large", protocol: "http-binary", concurrency: closedLevels},
	{name: "mlp-small-open-loop", model: "mlp-small", protocol: "http-binary"},
}

// RunScenarios runs the suite against a running tiffin serving the demo
// repository: the backend baselines of mlp-small and mlp-large, the bare
// HTTP ceiling, mlp-small over each protocol, mlp-large's batching, and an
// open-loop run; it writes each report and the tables of bench/README.md.
func RunScenarios(ctx context.Context, o ScenarioOptions) error {
	results := map[string]*Report{}
	for _, model := range []string{"mlp-small", "mlp-large"} {
		b, err := RunBaseline(ctx, BaselineOptions{Backend: o.Backend, Repository: o.Repository, Model: model,
			Duration: o.Duration / 2, Progress: o.Progress})
		if err != nil {
			return err
		}
		rep := NewReport(o.Version, Config{Model: model, Batch: 1, DurationS: (o.Duration / 2).Seconds()})
		rep.Baseline = b
		if err := o.save("baseline-"+model, rep, results); err != nil {
			return err
		}
	}
	for _, s := range scenarios {
		if s.name == "mlp-small-open-loop" {
			best := bestLevel(results["mlp-small-http-binary"]).RequestsPerSec
			s.rates = []float64{roundRate(best / 2), roundRate(best * 0.8)}
		}
		rep, err := o.run(ctx, s)
		if err != nil {
			return fmt.Errorf("scenario %s: %w", s.name, err)
		}
		if err := o.save(s.name, rep, results); err != nil {
			return err
		}
	}
	md := ScenarioTables(results)
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "\n%s", md)
	}
	if err := os.WriteFile(filepath.Join(o.Dir, "scenarios.md"), []byte(md), 0o644); err != nil {
		return err
	}
	return scenarioFailures(results)
}

// scenarioFailures makes failed requests the suite's failure, as they are
// a single run's, once every result and table is written: a table built
// on errors would otherwise read as a measurement. It names each scenario
// with failures, its count and its first error.
func scenarioFailures(results map[string]*Report) error {
	var failed []string
	for _, s := range scenarios {
		rep := results[s.name]
		if rep == nil {
			continue
		}
		var n int64
		first := ""
		for _, l := range rep.Levels {
			n += l.Errors
			if first == "" {
				first = l.FirstError
			}
		}
		if n > 0 {
			failed = append(failed, fmt.Sprintf("%s: %d requests failed (first: %s)", s.name, n, first))
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("the scenarios' results and tables are written, but requests failed; %s", strings.Join(failed, "; "))
}

func (o ScenarioOptions) run(ctx context.Context, s scenario) (*Report, error) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "\n== %s\n", s.name)
	}
	conns := slices.Max(append([]int{openWorkers}, s.concurrency...))
	var t Target
	var err error
	switch s.protocol {
	case "grpc":
		var g *GRPCTarget
		if g, err = NewGRPCTarget(o.GRPC, 4, o.Timeout, nil); err == nil {
			g.SetToken(o.Token)
			t = g
		}
	case "bare-http":
		bare, berr := StartBare("127.0.0.1:0")
		if berr != nil {
			return nil, berr
		}
		defer bare.Close()
		t, err = NewHTTPTarget(bare.URL(), false, conns, o.Timeout, nil)
	default:
		var h *HTTPTarget
		if h, err = NewHTTPTarget(o.HTTP, s.protocol == "http-binary", conns, o.Timeout, nil); err == nil {
			h.SetToken(o.Token)
			t = h
		}
	}
	if err != nil {
		return nil, err
	}
	defer t.Close()
	rep, err := Run(ctx, Options{Target: t, Model: s.model, Batch: 1, Concurrency: s.concurrency, Rates: s.rates,
		Arrivals: Poisson, Workers: openWorkers, Duration: o.Duration, Warmup: o.Warmup, Version: o.Version,
		Progress: o.Progress, TTY: o.TTY})
	if err == nil && s.protocol == "bare-http" {
		rep.Config.Bare = true
	}
	return rep, err
}

func (o ScenarioOptions) save(name string, rep *Report, results map[string]*Report) error {
	results[name] = rep
	path := filepath.Join(o.Dir, name+".json")
	return rep.WriteFiles(path, ChartPath(path))
}

// bestLevel is the level with the most successful requests per second.
func bestLevel(r *Report) Level {
	var best Level
	if r == nil {
		return best
	}
	for _, l := range r.Levels {
		if l.RequestsPerSec > best.RequestsPerSec {
			best = l
		}
	}
	return best
}

// roundRate rounds a rate to two significant digits, at least 10/s.
func roundRate(r float64) float64 {
	if r < 10 {
		return 10
	}
	p := math.Pow(10, math.Floor(math.Log10(r))-1)
	return math.Round(r/p) * p
}
