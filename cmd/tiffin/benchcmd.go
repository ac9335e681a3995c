package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/onnx"
	"github.com/tiffin-ml/tiffin/bench"
	"github.com/tiffin-ml/tiffin/transport/v2client"
)

// benchUsage is printed by `tiffin bench -h`.
const benchUsage = `Usage: tiffin bench --model M (--http URL | --grpc ADDR) [flags]
       tiffin bench --bare-http [flags]
       tiffin bench --baseline --model M --model-repository DIR [flags]
       tiffin bench --scenarios DIR --http URL --grpc ADDR --model-repository DIR

Load-tests any KServe V2 server with synthetic inputs made from the model's
metadata: closed-loop at each --concurrency, then open-loop at each --rate
(latency from the intended send time, free of coordinated omission). It
reports throughput, p50/p90/p99/p99.9, errors and the server's mean batch
size (from Triton's statistics extension, when the server has it), and
writes --out FILE.json with a latency-throughput chart FILE.svg beside it.

Examples:
  tiffin bench --model mlp-small --http localhost:8000 --concurrency 1,8,32 --out r.json
  tiffin bench --model mlp-small --grpc localhost:8001 --rate 500,1000 --duration 5s
  tiffin bench --model mlp-large --baseline --model-repository build/demo-models

Flags:
`

// benchArgs are the parsed flags of `tiffin bench`.
type benchArgs struct {
	model, httpURL, grpcAddr, repo, ortLib string
	out, chart, scenarios, concurrency     string
	metrics, compare, pinClient, bareAddr  string
	bareGRPCAddr, token                    string
	tls                                    v2client.TLSFiles
	tlsCfg                                 *tls.Config // tls's config, read once by check
	rates, arrivals                        string
	binary, baseline, bare                 bool
	batch, workers, grpcConns, threads     int
	baselineGPU                            int
	duration, warmup, timeout              time.Duration
	set                                    map[string]bool // flags given on the command line
}

func benchFlags(a *benchArgs, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	fs.StringVar(&a.model, "model", "", "model `NAME` to load-test")
	fs.StringVar(&a.httpURL, "http", "", "server's HTTP `URL` or host:port")
	fs.StringVar(&a.grpcAddr, "grpc", "", "server's gRPC `ADDR` (host:port)")
	fs.BoolVar(&a.binary, "binary", false, "HTTP: send tensors in Triton's binary extension, not JSON")
	fs.StringVar(&a.token, "token", "", "bearer `TOKEN` for a server with --inference-token (default: $"+inferenceTokenEnv+")")
	a.tls.Flags(fs, true)
	fs.IntVar(&a.batch, "batch", 1, "rows per request (and the --baseline batch size when given)")
	fs.StringVar(&a.concurrency, "concurrency", "1", "closed-loop levels: concurrent clients, e.g. 1,8,32")
	fs.StringVar(&a.rates, "rate", "", "open-loop levels: requests per second, e.g. 500,1000")
	fs.StringVar(&a.arrivals, "arrivals", bench.Poisson, "open-loop arrivals: poisson or uniform")
	fs.IntVar(&a.workers, "workers", 64, "open-loop sender goroutines (and connections)")
	fs.DurationVar(&a.duration, "duration", 10*time.Second, "measurement time per level")
	fs.DurationVar(&a.warmup, "warmup", 2*time.Second, "warm-up before the first level")
	fs.DurationVar(&a.timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.IntVar(&a.grpcConns, "grpc-conns", 0, "gRPC connections (0: one per 16 clients, at most 8)")
	fs.StringVar(&a.out, "out", "", "write the JSON report to `FILE.json` (and the chart to FILE.svg)")
	fs.StringVar(&a.chart, "chart", "", "write the SVG chart to `FILE.svg` (default: beside --out)")
	fs.BoolVar(&a.baseline, "baseline", false, "also run the model in-process through the ONNX Runtime backend: the ceiling")
	fs.StringVar(&a.repo, "model-repository", "", "model repository `DIR`, for --baseline and --scenarios")
	fs.IntVar(&a.threads, "threads", 0, "--baseline instance threads (0: GOMAXPROCS)")
	fs.IntVar(&a.baselineGPU, "baseline-gpu", -1, "run --baseline on CUDA device `N` (needs a CUDA-enabled --ort-library); -1: the CPU")
	fs.StringVar(&a.ortLib, "ort-library", onnx.DefaultLibraryPath(), "path to libonnxruntime.so, for --baseline")
	fs.BoolVar(&a.bare, "bare-http", false, "load-test a bare fasthttp handler started in this process (the HTTP ceiling)")
	fs.StringVar(&a.scenarios, "scenarios", "", "run the bench/ server scenarios, writing results into `DIR`")
	fs.StringVar(&a.metrics, "metrics", "", "server's Prometheus `URL`, for its CPU µs per request (default: --http's /metrics)")
	fs.StringVar(&a.compare, "compare-baseline", "", "a --baseline report `FILE.json`: report compute inflation against it")
	fs.StringVar(&a.pinClient, "pin-client", "", "pin this load generator to `CPUS` (such as 0), off the server's cores")
	fs.StringVar(&a.bareAddr, "bare-listen", "", "only serve the bare fasthttp handler on `ADDR` until interrupted (pin it with taskset)")
	fs.StringVar(&a.bareGRPCAddr, "bare-grpc-listen", "", "with --bare-listen, also serve a bare grpc-go V2 service on `ADDR`, answering without a model (the gRPC ceiling; its CPU is in the bare handler's /metrics)")
	return fs
}

func benchCmd(args []string, stdout, stderr io.Writer) int {
	a := &benchArgs{set: map[string]bool{}}
	fs := benchFlags(a, stderr)
	if err := parseFlags(fs, args); err != nil {
		return parseExit(err)
	}
	fs.Visit(func(f *flag.Flag) { a.set[f.Name] = true })
	a.token = cmp.Or(a.token, os.Getenv(inferenceTokenEnv)) // not the flag's default: usage would print it
	if err := a.check(); err != nil {
		fmt.Fprintf(stderr, "tiffin bench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := a.run(ctx, stdout, stderr); err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			err = errors.New("interrupted: the report holds the levels measured before it (the last one cut short)")
		}
		fmt.Fprintf(stderr, "tiffin bench: %v\n", err)
		return 1
	}
	return 0
}

func (a *benchArgs) check() error {
	var err error
	if a.tlsCfg, err = a.tls.Config(); err != nil {
		return err
	}
	if a.tlsCfg != nil && (a.scenarios != "" || a.bare || a.bareAddr != "") {
		return errors.New("--cacert, --cert, --key and --tls are for an --http or --grpc server, not --scenarios or the bare handler")
	}
	if a.bareAddr != "" {
		return nil
	}
	if a.bareGRPCAddr != "" {
		return errors.New("--bare-grpc-listen needs --bare-listen")
	}
	targets := 0
	for _, on := range []bool{a.httpURL != "", a.grpcAddr != "", a.bare} {
		if on {
			targets++
		}
	}
	switch {
	case a.scenarios != "":
		if a.httpURL == "" || a.grpcAddr == "" || a.repo == "" {
			return errors.New("--scenarios needs --http, --grpc and --model-repository")
		}
		return nil
	case targets > 1:
		return errors.New("give one of --http URL, --grpc ADDR and --bare-http")
	case targets == 0 && !a.baseline:
		return errors.New("give --http URL, --grpc ADDR, --bare-http or --baseline")
	case a.model == "" && (!a.bare || a.baseline):
		return errors.New("--model is required")
	case a.baseline && a.repo == "":
		return errors.New("--baseline needs --model-repository DIR to find the model file")
	case a.binary && a.grpcAddr != "":
		return errors.New("--binary is for --http; gRPC always sends raw tensor bytes")
	case a.batch < 1:
		return fmt.Errorf("--batch must be positive, got %d", a.batch)
	case a.workers < 1:
		return fmt.Errorf("--workers must be positive, got %d", a.workers)
	case a.duration <= 0:
		return fmt.Errorf("--duration must be positive, got %s", a.duration)
	case a.timeout <= 0:
		return fmt.Errorf("--timeout must be positive, got %s (each request would time out at once)", a.timeout)
	case a.warmup < 0:
		return fmt.Errorf("--warmup must not be negative, got %s", a.warmup)
	case a.grpcConns < 0:
		return fmt.Errorf("--grpc-conns must not be negative, got %d", a.grpcConns)
	case a.threads < 0:
		return fmt.Errorf("--threads must not be negative, got %d", a.threads)
	case a.arrivals != bench.Poisson && a.arrivals != bench.Uniform:
		return fmt.Errorf("--arrivals %q: want poisson or uniform", a.arrivals)
	}
	_, _, err = a.levels()
	return err
}

func (a *benchArgs) run(ctx context.Context, stdout, stderr io.Writer) error {
	if a.pinClient != "" {
		if err := bench.PinProcess(a.pinClient); err != nil {
			return err
		}
	}
	if a.bareAddr != "" {
		return serveBare(ctx, a.bareAddr, a.bareGRPCAddr, stdout)
	}
	if a.scenarios != "" {
		return a.runScenarios(ctx, stderr)
	}
	rep := bench.NewReport(version, bench.Config{Model: a.model, Batch: a.batch, DurationS: a.duration.Seconds(), WarmupS: a.warmup.Seconds()})
	if a.httpURL != "" || a.grpcAddr != "" || a.bare {
		r, err := a.runLoad(ctx, stderr)
		if r == nil {
			return err
		}
		rep = r
		r.PrintTable(stdout)
		if err != nil {
			return a.write(rep, err)
		}
	}
	if a.baseline {
		b, err := a.runBaseline(ctx, stderr)
		if err != nil {
			return a.write(rep, err)
		}
		rep.Baseline = b
		printBaseline(stdout, b)
	}
	return a.write(rep, failures(rep))
}

// write saves the report, if asked, and returns err (or the write's error).
func (a *benchArgs) write(rep *bench.Report, err error) error {
	chart := a.chart
	if chart == "" && a.out != "" {
		chart = bench.ChartPath(a.out)
	}
	if werr := rep.WriteFiles(a.out, chart); werr != nil {
		return errors.Join(err, werr)
	}
	return err
}

// failures makes failed requests the command's failure, after the report
// is written.
func failures(rep *bench.Report) error {
	var n int64
	for _, l := range rep.Levels {
		n += l.Errors
	}
	if n > 0 {
		return fmt.Errorf("%d requests failed", n)
	}
	return nil
}

// runLoad measures the server (or the bare handler) at every level.
func (a *benchArgs) runLoad(ctx context.Context, stderr io.Writer) (*bench.Report, error) {
	clients, rates, err := a.levels()
	if err != nil {
		return nil, err
	}
	parallel := slices.Max(append(slices.Clone(clients), 1))
	if len(rates) > 0 {
		parallel = max(parallel, a.workers)
	}
	t, model, closeAll, err := a.target(parallel)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	o := bench.Options{
		Target: t, Model: model, Batch: a.batch, Concurrency: clients, Rates: rates,
		Arrivals: a.arrivals, Workers: a.workers, Duration: a.duration, Warmup: a.warmup,
		Version: version, Progress: stderr, TTY: bench.IsTerminal(stderr), MetricsURL: a.metricsURL(t),
	}
	o.MetricsTLS = a.tlsCfg
	if a.compare != "" {
		if o.Baseline, err = bench.ReadBaseline(a.compare, model); err != nil {
			return nil, err
		}
	}
	rep, err := bench.Run(ctx, o)
	if rep != nil {
		rep.Config.Bare = a.bare
	}
	return rep, err
}

// metricsURL is --metrics, else the /metrics of the HTTP target (the bare
// handler's included); empty for gRPC without --metrics.
func (a *benchArgs) metricsURL(t bench.Target) string {
	if a.metrics != "" || a.grpcAddr != "" {
		return a.metrics
	}
	return t.Address() + "/metrics"
}

// serveBare serves the bare handler alone until ctx ends, so it can run
// pinned in a process of its own while the load comes from another.
func serveBare(ctx context.Context, addr, grpcAddr string, stdout io.Writer) error {
	bare, err := bench.StartBare(addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bare fasthttp handler on %s; Ctrl-C stops it\n", bare.URL())
	if grpcAddr != "" {
		g, err := bench.StartBareGRPC(grpcAddr)
		if err != nil {
			bare.Close()
			return err
		}
		defer g.Close()
		fmt.Fprintf(stdout, "bare gRPC service on %s\n", g.Addr())
	}
	<-ctx.Done()
	return bare.Close()
}

// levels are the closed-loop concurrencies (unless only --rate was given)
// and the open-loop rates.
func (a *benchArgs) levels() ([]int, []float64, error) {
	var clients []int
	var rates []float64
	var err error
	if a.rates != "" {
		if rates, err = parseRates(a.rates); err != nil {
			return nil, nil, fmt.Errorf("--rate: %w", err)
		}
	}
	if a.rates == "" || a.set["concurrency"] {
		if clients, err = parseInts(a.concurrency); err != nil { // tune.go
			return nil, nil, fmt.Errorf("--concurrency: %w", err)
		}
	}
	return clients, rates, nil
}

// target connects to the server under test, or starts the bare handler.
func (a *benchArgs) target(parallel int) (bench.Target, string, func(), error) {
	tlsCfg := a.tlsCfg
	switch {
	case a.grpcAddr != "":
		conns := a.grpcConns
		if conns <= 0 {
			conns = min(8, (parallel+15)/16)
		}
		t, err := bench.NewGRPCTarget(a.grpcAddr, conns, a.timeout, tlsCfg)
		if err != nil {
			return nil, "", nil, err
		}
		t.SetToken(a.token)
		return t, a.model, func() { t.Close() }, nil
	case a.bare:
		bare, err := bench.StartBare("127.0.0.1:0")
		if err != nil {
			return nil, "", nil, err
		}
		t, _ := bench.NewHTTPTarget(bare.URL(), a.binary, parallel, a.timeout, nil)
		model := cmp.Or(a.model, "bare")
		return t, model, func() { t.Close(); bare.Close() }, nil
	}
	t, err := bench.NewHTTPTarget(a.httpURL, a.binary, parallel, a.timeout, tlsCfg)
	if err != nil {
		return nil, "", nil, err
	}
	t.SetToken(a.token)
	return t, a.model, func() { t.Close() }, nil
}

// runBaseline runs the model through the ONNX Runtime backend in-process.
func (a *benchArgs) runBaseline(ctx context.Context, stderr io.Writer) (*bench.Baseline, error) {
	batches := []int{1, 8, 32, 64}
	if a.set["batch"] {
		batches = []int{a.batch}
	}
	ort := onnx.New(onnx.Options{LibraryPath: a.ortLib, Logger: slog.New(slog.DiscardHandler)})
	defer ort.Close()
	fmt.Fprintf(stderr, "baseline: %s in-process through onnxruntime, %s per batch size\n", a.model, a.duration)
	return bench.RunBaseline(ctx, bench.BaselineOptions{Backend: ort, Repository: a.repo, Model: a.model,
		Threads: a.threads, Device: a.baselineDevice(), Batches: batches, Duration: a.duration, Progress: stderr})
}

// baselineDevice is --baseline-gpu as a device: the CPU when it is negative.
func (a *benchArgs) baselineDevice() backends.Device {
	if a.baselineGPU < 0 {
		return backends.Device{Kind: backends.CPU}
	}
	return backends.Device{Kind: backends.GPU, GPU: a.baselineGPU}
}

func printBaseline(w io.Writer, b *bench.Baseline) {
	fmt.Fprintf(w, "\nbaseline: %s, %s on %s, %d threads\n", b.ModelPath, b.Backend, b.Device, b.Threads)
	fmt.Fprintf(w, "%-8s %12s %12s %12s\n", "BATCH", "ROWS/S", "P50 ms/run", "P99 ms/run")
	for _, r := range b.Rows {
		fmt.Fprintf(w, "%-8d %12.0f %12.3f %12.3f\n", r.Batch, r.RowsPerSec, r.Latency.P50Ms, r.Latency.P99Ms)
	}
}

// runScenarios runs the bench/ suite; shorter levels than a single run
// unless --duration and --warmup say otherwise.
func (a *benchArgs) runScenarios(ctx context.Context, stderr io.Writer) error {
	o := bench.ScenarioOptions{HTTP: a.httpURL, GRPC: a.grpcAddr, Repository: a.repo, Dir: a.scenarios,
		Duration: 4 * time.Second, Warmup: time.Second, Timeout: a.timeout, Token: a.token, Version: version,
		Progress: stderr, TTY: bench.IsTerminal(stderr)}
	if a.set["duration"] {
		o.Duration = a.duration
	}
	if a.set["warmup"] {
		o.Warmup = a.warmup
	}
	ort := onnx.New(onnx.Options{LibraryPath: a.ortLib, Logger: slog.New(slog.DiscardHandler)})
	defer ort.Close()
	o.Backend = ort
	return bench.RunScenarios(ctx, o)
}

func parseRates(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || r <= 0 || math.IsInf(r, 0) {
			return nil, fmt.Errorf("%q is not a positive number of requests per second", f)
		}
		out = append(out, r)
	}
	return out, nil
}
