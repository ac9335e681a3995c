package main

import (
	"flag"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tiffin-ml/tiffin/runtime/config"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// parseServe parses serve's flags as serveCmd does: the environment first,
// then the command line.
func parseServe(t *testing.T, env map[string]string, args ...string) (config.Server, error) {
	t.Helper()
	return serveConfig(args, io.Discard, func(k string) string { return env[k] })
}

// Triton's users write a boolean's value as the next word; the line the
// README gives for them parses, and a value that is not true or false is
// still a stray word.
func TestBoolFlagsTakeTheNextWord(t *testing.T) {
	cfg, err := parseServe(t, nil, "--model-repository", "/models", "--strict-readiness", "false",
		"--exit-timeout-secs", "30", "--allow-grpc", "false", "--allow-http", "--metrics-compat", "triton")
	switch {
	case err != nil:
		t.Fatal(err)
	case cfg.StrictReady || cfg.AllowGRPC || !cfg.AllowHTTP || cfg.ShutdownTimeout != 30*time.Second || cfg.MetricsCompat != "triton":
		t.Fatalf("parsed %+v", cfg)
	}
	if _, err := parseServe(t, nil, "--strict-readiness", "yes"); err == nil {
		t.Error(`"--strict-readiness yes" parsed: "yes" is a stray word`)
	}
	// A flag's value is never read as a boolean's: the label "true" stays.
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.String("label", "", "")
	fs.Bool("watch", false, "")
	if got := joinBoolValues(fs, []string{"--label", "true", "--watch", "true", "--", "--watch", "false"}); !slices.Equal(got,
		[]string{"--label", "true", "--watch=true", "--", "--watch", "false"}) {
		t.Errorf("joined %q", got)
	}
}

func TestServeFlagsFromEnvironment(t *testing.T) {
	env := map[string]string{
		"TIFFIN_HTTP_PORT": "9000", "TIFFIN_GRPC_PORT": "9001", "TIFFIN_STRICT_READINESS": "false",
		"TIFFIN_EXIT_TIMEOUT_SECS": "7", "TIFFIN_METRICS_COMPAT": "triton", "TIFFIN_MODEL_REPOSITORY": "/models",
	}
	cfg, err := parseServe(t, env, "--grpc-port", "9101")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPPort != 9000 || cfg.GRPCPort != 9101 || cfg.StrictReady || cfg.ShutdownTimeout != 7*time.Second ||
		cfg.MetricsCompat != "triton" || cfg.ModelRepository != "/models" {
		t.Fatalf("http %d grpc %d (the flag wins) strict %v exit %v compat %q repo %q",
			cfg.HTTPPort, cfg.GRPCPort, cfg.StrictReady, cfg.ShutdownTimeout, cfg.MetricsCompat, cfg.ModelRepository)
	}
	if _, err := parseServe(t, map[string]string{"TIFFIN_HTTP_PORT": "eighty"}); err == nil || !strings.Contains(err.Error(), `TIFFIN_HTTP_PORT="eighty"`) ||
		!strings.Contains(err.Error(), "--http-port takes a whole number") {
		t.Fatalf("a bad value: %v, want an error naming the variable and what its flag takes", err)
	}
	if _, err := parseServe(t, map[string]string{"TIFFIN_SHUTDOWN_TIMEOUT": "ten"}); err == nil || !strings.Contains(err.Error(), "takes a duration") {
		t.Fatalf("a bad duration: %v, want an error saying a duration is wanted", err)
	}
}

// --load-model adds a model each time it is given: names on the command
// line replace TIFFIN_LOAD_MODEL's, as every other flag wins over its
// variable, rather than loading both.
func TestLoadModelOnTheCommandLineReplacesTheEnvironments(t *testing.T) {
	env := map[string]string{"TIFFIN_LOAD_MODEL": "from-env"}
	cfg, err := parseServe(t, env, "--load-model", "a", "--load-model", "b")
	if err != nil || !slices.Equal(cfg.Repository.LoadModels, []string{"a", "b"}) {
		t.Errorf("with both: %q, %v; want the command line's a and b", cfg.Repository.LoadModels, err)
	}
	if cfg, err := parseServe(t, env); err != nil || !slices.Equal(cfg.Repository.LoadModels, []string{"from-env"}) {
		t.Errorf("the variable alone: %q, %v", cfg.Repository.LoadModels, err)
	}
}

func TestServeFlagsTritonDefaults(t *testing.T) {
	cfg, err := parseServe(t, nil, "--model-repository", "r", "--exit-timeout-secs", "3")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.StrictReady || !cfg.AllowHTTP || !cfg.AllowGRPC || !cfg.AllowMetrics || cfg.MetricsPort != -1 || cfg.ShutdownTimeout != 3*time.Second {
		t.Fatalf("%+v", cfg)
	}
	for args, want := range map[string]string{
		"--allow-http=false --allow-grpc=false": "nothing would serve",
		"--tls-cert c.pem":                      "--tls-cert and --tls-key go together",
		"--tls-client-ca ca.pem":                "--tls-client-ca needs --tls-cert",
		"--metrics-compat prometheus":           "--metrics-compat",
		"--metrics-port 70000":                  "--metrics-port",
	} {
		cfg, err := parseServe(t, nil, append([]string{"--model-repository", "r"}, strings.Fields(args)...)...)
		if err == nil {
			err = cfg.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %q", args, err, want)
		}
	}
}

// TestE2EAllowFlags: with --allow-http=false only gRPC listens; with
// --allow-metrics=false /metrics is gone.
func TestE2EAllowFlags(t *testing.T) {
	httpPort, grpcPort := freePort(t), freePort(t)
	startServer(t, demoRepo(t), func(c *config.Server) {
		c.HTTPPort, c.GRPCPort, c.AllowHTTP = httpPort, grpcPort, false
	})
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(httpPort), time.Second); err == nil {
		c.Close()
		t.Fatal("the HTTP port listens with --allow-http=false")
	}
	conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(grpcPort), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if r, err := pb.NewGRPCInferenceServiceClient(conn).ServerReady(ctxT(t), &pb.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Fatalf("gRPC with HTTP off: %v %v", r, err)
	}

	ts := startServer(t, demoRepo(t), func(c *config.Server) { c.AllowMetrics = false })
	if r := ts.do(t, "GET", "/metrics", nil, nil); r.status != http.StatusNotFound {
		t.Fatalf("/metrics with --allow-metrics=false: %d, want 404", r.status)
	}
}

// A poll interval that would wrap past a Duration is refused, and a model
// named twice to --load-model loads once.
func TestControlFlagBounds(t *testing.T) {
	if _, err := parseServe(t, nil, "--repository-poll-secs", "20211507185753197"); err == nil || !strings.Contains(err.Error(), "at most 86400") {
		t.Errorf("a poll interval of 640 million years: %v", err)
	}
	cfg, err := parseServe(t, nil, "--load-model", "a", "--load-model", "b", "--load-model", "a")
	if err != nil || !slices.Equal(cfg.Repository.LoadModels, []string{"a", "b"}) {
		t.Errorf("load models %q, %v; want [a b]", cfg.Repository.LoadModels, err)
	}
}

// A Triton command line starts: the flags tiffin has under other names
// map onto them, and the rest are accepted and listed for the warning.
func TestTritonLaunchFlags(t *testing.T) {
	cfg, err := parseServe(t, nil, "--model-store=/models", "--log-verbose=1", "--exit-on-error=false",
		"--strict-model-config=false", "--disable-auto-complete-config", "--backend-config=onnxruntime,enable-global-threadpool=1",
		"--http-thread-count=4", "--model-load-thread-count=2", "--pinned-memory-pool-byte-size=0", "--allow-gpu-metrics=false",
		"--id=x", "--allow-sagemaker=false", "--http-address=127.0.0.1", "--grpc-address", "127.0.0.1",
		"--trace-config=rate=1", "--rate-limit=off", "--buffer-manager-thread-count=2", "--metrics-interval-ms=1000",
		"--repository-poll-secs=5", "--model-control-mode=poll", "--exit-timeout-secs=5")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ModelRepository != "/models" || cfg.LogLevel != "debug" || cfg.Host != "127.0.0.1" || cfg.ShutdownTimeout != 5*time.Second {
		t.Fatalf("mapped: repository %q, log level %q, host %q, exit timeout %v", cfg.ModelRepository, cfg.LogLevel, cfg.Host, cfg.ShutdownTimeout)
	}
	want := []string{"--exit-on-error=false", "--strict-model-config=false", "--disable-auto-complete-config=true",
		"--backend-config=onnxruntime,enable-global-threadpool=1", "--http-thread-count=4", "--model-load-thread-count=2",
		"--pinned-memory-pool-byte-size=0", "--allow-gpu-metrics=false", "--id=x", "--allow-sagemaker=false",
		"--trace-config=rate=1", "--rate-limit=off", "--buffer-manager-thread-count=2", "--metrics-interval-ms=1000"}
	if !slices.Equal(cfg.TritonIgnored, want) {
		t.Errorf("ignored %q,\nwant %q", cfg.TritonIgnored, want)
	}
	if cfg, err := parseServe(t, nil, "--log-info=false"); err != nil || cfg.LogLevel != "warn" {
		t.Errorf("--log-info=false: level %q, %v", cfg.LogLevel, err)
	}
	if _, err := parseServe(t, nil, "--http-address=127.0.0.1", "--grpc-address=0.0.0.0"); err == nil || !strings.Contains(err.Error(), "one address") {
		t.Errorf("two addresses: %v, want refused", err)
	}
	// Triton's TLS flags are not ignored: a server the user thinks is
	// encrypted must not start in plain text.
	// The refusal says what to use instead.
	for _, args := range [][]string{{"--grpc-use-ssl=true"}, {"--grpc-use-ssl", "true"}, {"--grpc-use-ssl-mutual"},
		{"--grpc-server-cert", "cert.pem"}, {"--grpc-server-key=key.pem"}, {"--grpc-root-cert", "ca.pem"}} {
		if _, err := parseServe(t, nil, args...); err == nil || !strings.Contains(err.Error(), "--tls-cert FILE and --tls-key FILE") {
			t.Errorf("%q: %v, want refused naming --tls-cert and --tls-key", args, err)
		}
	}
	if _, err := parseServe(t, map[string]string{"TIFFIN_GRPC_USE_SSL": "true"}); err == nil || !strings.Contains(err.Error(), "--tls-cert") {
		t.Errorf("TIFFIN_GRPC_USE_SSL: %v, want refused naming --tls-cert", err)
	}
	// false asks for what a server without --tls-cert serves: it starts.
	for _, args := range [][]string{{"--grpc-use-ssl=false"}, {"--grpc-use-ssl", "false"}, {"--grpc-use-ssl-mutual=false"}} {
		if _, err := parseServe(t, nil, args...); err != nil {
			t.Errorf("%q: %v, want accepted", args, err)
		}
	}
}
