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
	"syscall"
	"time"

	"github.com/tiffin-ml/tiffin/backends/onnx"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/config"
	httpt "github.com/tiffin-ml/tiffin/transport/http"
)

const serveUsage = `Usage: tiffin serve --model-repository DIR [flags]

Serves the model repository DIR (DIR/<model>/<version>/model.onnx, and an
optional DIR/<model>/config.yaml) over HTTP (KServe V2) and gRPC until
SIGINT or SIGTERM. Every flag can also be set as TIFFIN_<FLAG>
(TIFFIN_HTTP_PORT=9000); the command line wins. Triton's flags are taken
too: those tiffin does not act on are named in a warning at start.

Flags:
`

// serveFlags returns the flag set and a function to run after parsing.
func serveFlags(cfg *config.Server, stderr io.Writer) (*flag.FlagSet, func()) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, serveUsage); fs.PrintDefaults() }
	fs.StringVar(&cfg.ModelRepository, "model-repository", cfg.ModelRepository, "model repository `DIR` (required)")
	fs.StringVar(&cfg.Host, "host", cfg.Host, "address to listen on (empty: all interfaces)")
	fs.IntVar(&cfg.HTTPPort, "http-port", cfg.HTTPPort, "HTTP port (0: pick a free one)")
	fs.IntVar(&cfg.GRPCPort, "grpc-port", cfg.GRPCPort, "gRPC port (0: pick a free one)")
	fs.IntVar(&cfg.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "largest request body accepted; larger gets 413")
	fs.StringVar(&cfg.ORTLibrary, "ort-library", cfg.ORTLibrary, "path to libonnxruntime.so (default: $TIFFIN_ORT_LIBRARY, then third_party/onnxruntime/lib)")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "log format: text or json")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "log level: debug, info, warn or error")
	fs.BoolVar(&cfg.StrictReady, "strict-readiness", cfg.StrictReady, "report ready only when every model is READY (false: once the repository is loaded)")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long shutdown waits for requests in flight")
	fs.DurationVar(&cfg.ShutdownDelay, "shutdown-delay", cfg.ShutdownDelay, "on SIGTERM, serve on this long first, answering not ready and closing each connection after its answer, while load balancers take the server out (Kubernetes: a few seconds)")
	fs.StringVar(&cfg.DevicesFile, "devices", cfg.DevicesFile, "host device `FILE`: per device class, instance counts and batching that override config.yaml")
	fs.Int64Var(&cfg.MaxInflightBytes, "max-inflight-bytes", cfg.MaxInflightBytes, "bytes all requests in flight may hold together (bodies and decoded tensors); beyond it: 429")
	fs.DurationVar(&cfg.HeaderReadTimeout, "header-read-timeout", cfg.HeaderReadTimeout, "a request's headers must arrive within this (408 otherwise)")
	fs.DurationVar(&cfg.BodyReadTimeout, "body-read-timeout", cfg.BodyReadTimeout, "a request's body must arrive within this (408 otherwise)")
	fs.DurationVar(&cfg.WriteTimeout, "write-timeout", cfg.WriteTimeout, "a response must be written within this; a client that does not read is disconnected")
	fs.StringVar(&cfg.OTLPEndpoint, "otlp-endpoint", cfg.OTLPEndpoint, "send traces over OTLP/HTTP to this `URL` (e.g. http://localhost:4318/v1/traces); empty: off")
	fs.StringVar(&cfg.PprofAddr, "pprof-addr", cfg.PprofAddr, "serve Go's profiles on `ADDR` (a bare port listens on loopback only); empty: off")
	grpcFlags(fs, cfg)   // grpc.go
	tritonFlags(fs, cfg) // tritonflags.go
	jobsFlags(fs, &cfg.Jobs)
	return fs, controlFlags(fs, &cfg.Repository) // control.go
}

// envError is a TIFFIN_<FLAG> variable that does not parse.
type envError struct{ error }

// serveConfig reads serve's flags from the environment (TIFFIN_<FLAG>),
// then from args, which win. --load-model adds a model each time it is
// given, so names on the command line replace the environment's rather
// than adding to them.
func serveConfig(args []string, stderr io.Writer, getenv func(string) string) (config.Server, error) {
	cfg := config.DefaultServer()
	fs, parsed := serveFlags(&cfg, stderr)
	if err := envFlags(fs, getenv); err != nil {
		return cfg, envError{err}
	}
	fromEnv := cfg.Repository.LoadModels
	cfg.Repository.LoadModels = nil
	if err := parseFlags(fs, args); err != nil {
		return cfg, err
	}
	if len(cfg.Repository.LoadModels) == 0 {
		cfg.Repository.LoadModels = fromEnv
	}
	parsed()
	return cfg, nil
}

func serveCmd(args []string, stdout, stderr io.Writer) int {
	cfg, err := serveConfig(args, stderr, os.Getenv)
	var envErr envError
	switch {
	case errors.As(err, &envErr):
		fmt.Fprintf(stderr, "tiffin serve: %v\n", err)
		return 2
	case err != nil:
		return parseExit(err)
	}
	if cfg.ORTLibrary == "" {
		cfg.ORTLibrary = onnx.DefaultLibraryPath()
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "tiffin serve: %v\n", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	returned := make(chan struct{})
	defer close(returned) // before stop, which ends ctx too
	go func() {
		select {
		case <-ctx.Done():
		case <-returned: // serve ended without a signal
			return
		}
		// A model load at start under way is not cut short (one
		// through the repository API in warmup is), and requests in
		// flight get the shutdown timeout: whoever cannot wait sends
		// the signal again, which now ends the process at once.
		stop()
		log.Info("stop signal received; a second SIGINT or SIGTERM stops at once")
	}()
	if err := serve(ctx, cfg, log, nil); err != nil {
		log.Error("tiffin serve failed", "err", err)
		return 1
	}
	return 0
}

// serve builds the container, starts every component in order, waits for
// ctx to end (a signal), then stops them in reverse within the shutdown
// timeout. ready, when not nil, receives the HTTP server once it listens.
func serve(ctx context.Context, cfg config.Server, log *slog.Logger, ready chan<- *httpt.Server) error {
	if err := cfg.AbsPaths(); err != nil { // errors then name paths clients never see whole
		return err
	}
	log.Info("tiffin starting", "version", version, "config", cfg)
	if len(cfg.TritonIgnored) > 0 {
		log.Warn("Triton flags that tiffin does not act on were ignored (tiffin serve -h says why for each)", "flags", cfg.TritonIgnored)
	}
	c, err := newContainer(cfg, log)
	if err != nil {
		return err
	}
	var lc *lifecycle
	var srv *httpt.Server
	var models *runtime.Manager
	if err := c.Invoke(func(l *lifecycle, s *httpt.Server, m *runtime.Manager) { lc, srv, models = l, s, m }); err != nil {
		return fmt.Errorf("build components: %w", err)
	}
	if err := lc.start(ctx); err != nil {
		if errors.Is(err, errStoppedStarting) {
			log.Info("tiffin stopped before it was ready: a stop signal came during start", "detail", err)
			return nil
		}
		return err
	}
	procs, frontEnd, workers, fixed := runtime.ProcPlan()
	log.Info("tiffin ready", "http", srv.Addr(), "gomaxprocs", procs, "front_end_procs", frontEnd,
		"instance_workers", workers, "gomaxprocs_from_env", fixed)
	if ready != nil {
		ready <- srv
	}
	<-ctx.Done()
	if cfg.ShutdownDelay > 0 {
		drain(cfg.ShutdownDelay, models, srv, log)
	}
	log.Info("tiffin stopping: finishing requests in flight", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := lc.stop(sctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("tiffin stopped")
	return nil
}

// drain serves on for delay before shutdown starts: readiness (HTTP and
// gRPC health) answers that the server is shutting down, and each HTTP
// connection is closed after its next answer, so that clients open their
// next one elsewhere. A load balancer (Kubernetes' endpoints, which drop
// the pod as SIGTERM is sent but reach kube-proxy and ingresses late) goes
// on sending requests for a while; without it those met a closed listener,
// and requests sent on idle keep-alive connections as they were closed got
// no answer. A second signal still ends the process at once.
func drain(delay time.Duration, models *runtime.Manager, srv *httpt.Server, log *slog.Logger) {
	log.Info("tiffin draining: not ready, serving on, closing connections after their answers", "delay", delay)
	models.BeginShutdown()
	srv.Drain()
	time.Sleep(delay)
}

func newLogger(cfg config.Server, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated already
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
