package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tiffin-ml/tiffin/runtime/config"
)

// EnvPrefix is the prefix of the environment variables that set
// `tiffin serve`'s flags: --http-port is TIFFIN_HTTP_PORT.
const EnvPrefix = "TIFFIN_"

// tritonFlags adds the flags spelled as Triton spells them: the
// listeners, the metrics, the exit timeout and TLS.
func tritonFlags(fs *flag.FlagSet, cfg *config.Server) {
	fs.BoolVar(&cfg.AllowHTTP, "allow-http", cfg.AllowHTTP, "serve the HTTP front end")
	fs.BoolVar(&cfg.AllowGRPC, "allow-grpc", cfg.AllowGRPC, "serve the gRPC front end")
	fs.BoolVar(&cfg.AllowMetrics, "allow-metrics", cfg.AllowMetrics, "serve Prometheus metrics at /metrics")
	fs.IntVar(&cfg.MetricsPort, "metrics-port", cfg.MetricsPort, "also serve /metrics on this port, a listener of its own (-1: none; 0: a free port; Triton uses 8002)")
	fs.StringVar(&cfg.MetricsCompat, "metrics-compat", cfg.MetricsCompat, "triton: also expose Triton's nv_inference_* metric names")
	fs.Func("exit-timeout-secs", "Triton's spelling of --shutdown-timeout, in whole seconds", func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return fmt.Errorf("want whole seconds >= 0, got %q", s)
		}
		cfg.ShutdownTimeout = time.Duration(n) * time.Second
		return nil
	})
	tritonAliases(fs, cfg)
	for _, f := range tritonIgnored {
		usage := "Triton's; accepted and not acted on (a warning at start): " + f.why
		record := func(v string) error {
			cfg.TritonIgnored = append(cfg.TritonIgnored, "--"+f.name+"="+v)
			return nil
		}
		if f.bool {
			fs.BoolFunc(f.name, usage, record)
		} else {
			fs.Func(f.name, usage, record)
		}
	}
	for _, f := range tritonTLS {
		if !f.bool {
			fs.Func(f.name, "Triton's; refused, not ignored: "+tlsInstead, func(string) error { return errTritonTLS })
			continue
		}
		// false asks for no TLS, which is what a server without
		// --tls-cert serves: a Triton command line spelling it out
		// starts, and nobody is led to think it encrypted.
		fs.BoolFunc(f.name, "Triton's; false is accepted, true refused: "+tlsInstead, func(v string) error {
			if on, err := strconv.ParseBool(v); err == nil && !on {
				return nil
			}
			return errTritonTLS
		})
	}
	fs.StringVar(&cfg.TLS.Cert, "tls-cert", cfg.TLS.Cert, "serve HTTP and gRPC over TLS with this PEM certificate `FILE` (with --tls-key)")
	fs.StringVar(&cfg.TLS.Key, "tls-key", cfg.TLS.Key, "the PEM private key `FILE` of --tls-cert")
	fs.StringVar(&cfg.TLS.ClientCA, "tls-client-ca", cfg.TLS.ClientCA, "require client certificates signed by this PEM CA `FILE` (mTLS)")
}

// tritonAliases adds Triton's spellings of flags tiffin has: a Triton
// command line runs as it is.
func tritonAliases(fs *flag.FlagSet, cfg *config.Server) {
	fs.StringVar(&cfg.ModelRepository, "model-store", cfg.ModelRepository, "Triton's older spelling of --model-repository")
	fs.Func("log-verbose", "Triton's verbose logging level: more than 0 is --log-level debug", func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return fmt.Errorf("want a level >= 0, got %q", s)
		}
		if n > 0 {
			cfg.LogLevel = "debug"
		}
		return nil
	})
	fs.Func("log-info", "Triton's: false logs warnings and errors only (--log-level warn)", func(s string) error {
		on, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", s)
		}
		if !on && cfg.LogLevel != "debug" && cfg.LogLevel != "error" {
			cfg.LogLevel = "warn"
		}
		return nil
	})
	// tiffin listens on one address for both front ends.
	address := func(s string) error {
		if cfg.Host != "" && cfg.Host != s {
			return fmt.Errorf("tiffin listens on one address for HTTP and gRPC (--host %q), not %q too", cfg.Host, s)
		}
		cfg.Host = s
		return nil
	}
	fs.Func("http-address", "Triton's: the address to listen on (--host)", address)
	fs.Func("grpc-address", "Triton's: the address to listen on (--host; it must be the same as --http-address)", address)
}

// tritonTLS are Triton's TLS flags. They are refused, not ignored: a
// server its user thinks encrypted must not start in plain text. They are
// flags, rather than unknown, so that the refusal says what to use.
var tritonTLS = []struct {
	name string
	bool bool // takes no value
}{{"grpc-use-ssl", true}, {"grpc-use-ssl-mutual", true}, {"grpc-server-cert", false}, {"grpc-server-key", false}, {"grpc-root-cert", false}}

// tlsInstead says what serves TLS in tiffin.
const tlsInstead = "serve TLS with --tls-cert FILE and --tls-key FILE (--tls-client-ca FILE to require client certificates)"

// errTritonTLS is the refusal of a Triton TLS flag.
var errTritonTLS = errors.New("tiffin refuses Triton's TLS flags: " + tlsInstead)

// tritonIgnored are Triton's flags that tiffin accepts without acting on
// them, so that a Triton command line starts; each is named in a warning
// at start with why. Flags that would weaken security if ignored (Triton's
// own TLS and SSL flags) are not among them: they are refused (tritonTLS).
var tritonIgnored = []struct {
	name, why string
	bool      bool // takes no value
}{
	{name: "strict-model-config", why: "tiffin always completes a config from the model file"},
	{name: "disable-auto-complete-config", why: "tiffin always completes a config from the model file", bool: true},
	{name: "exit-on-error", why: "a model that fails to load is UNAVAILABLE and the rest serve; --strict-readiness keeps the server not ready meanwhile"},
	{name: "backend-config", why: "ONNX Runtime's threads follow each instance's cores; see config.yaml"},
	{name: "backend-directory", why: "the backends are built in"},
	{name: "repoagent-directory", why: "tiffin has no repository agents"},
	{name: "http-thread-count", why: "the HTTP front end has no thread pool"},
	{name: "model-load-thread-count", why: "models load one at a time"},
	{name: "model-load-retry-count", why: "a failed load is not retried"},
	{name: "pinned-memory-pool-byte-size", why: "tiffin keeps no pinned memory pool"},
	{name: "cuda-memory-pool-byte-size", why: "set gpu_mem_limit per instance group in config.yaml"},
	{name: "min-supported-compute-capability", why: "every GPU NVML lists is used"},
	{name: "allow-gpu-metrics", why: "GPU metrics are exported whenever NVML finds a GPU"},
	{name: "allow-cpu-metrics", why: "process metrics are always exported"},
	{name: "metrics-interval-ms", why: "GPU metrics are read every 5 s"},
	{name: "metrics-config", why: "see --metrics-compat"},
	{name: "allow-sagemaker", why: "tiffin has no SageMaker front end"},
	{name: "allow-vertex-ai", why: "tiffin has no Vertex AI front end"},
	{name: "id", why: "the server's name is tiffin"},
	{name: "trace-config", why: "use --otlp-endpoint"},
	{name: "rate-limit", why: "tiffin has no rate limiter; queues are bounded by max_queue_size"},
	{name: "rate-limit-resource", why: "tiffin has no rate limiter"},
	{name: "buffer-manager-thread-count", why: "tiffin has no buffer manager threads"},
	{name: "grpc-infer-allocation-pool-size", why: "gRPC buffers are pooled already"},
	{name: "response-cache-byte-size", why: "tiffin has no response cache"},
	{name: "cache-config", why: "tiffin has no response cache"},
	{name: "log-warning", why: "use --log-level"},
	{name: "log-error", why: "use --log-level"},
	{name: "log-file", why: "logs go to standard error"},
	{name: "model-namespacing", why: "tiffin has one repository"},
	{name: "reuse-http-port", why: "not supported"},
	{name: "reuse-grpc-port", why: "not supported"},
}

// envFlags sets every flag of fs that the environment names as
// TIFFIN_<FLAG> (upper case, '-' as '_'). Call it before fs.Parse, so a
// flag on the command line wins over the environment.
func envFlags(fs *flag.FlagSet, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := EnvPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v := getenv(name)
		if v == "" || err != nil {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("%s=%q: %v%s", name, v, e, wants(f))
		}
	})
	return err
}

// wants says what a flag takes, for an environment variable's error: the
// flag package's own says only "parse error" for a number or a duration.
func wants(f *flag.Flag) string {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return " (for --" + f.Name + ")"
	}
	switch g.Get().(type) {
	case bool:
		return " (--" + f.Name + " takes true or false)"
	case int, int64, uint, uint64:
		return " (--" + f.Name + " takes a whole number)"
	case float64:
		return " (--" + f.Name + " takes a number)"
	case time.Duration:
		return " (--" + f.Name + " takes a duration, such as 30s or 2m)"
	}
	return " (for --" + f.Name + ")"
}
