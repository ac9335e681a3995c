package main

import (
	"flag"
	"fmt"
	"os"
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
	fs.StringVar(&cfg.TLS.Cert, "tls-cert", cfg.TLS.Cert, "serve HTTP and gRPC over TLS with this PEM certificate `FILE` (with --tls-key)")
	fs.StringVar(&cfg.TLS.Key, "tls-key", cfg.TLS.Key, "the PEM private key `FILE` of --tls-cert")
	fs.StringVar(&cfg.TLS.ClientCA, "tls-client-ca", cfg.TLS.ClientCA, "require client certificates signed by this PEM CA `FILE` (mTLS)")
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
			err = fmt.Errorf("%s=%q: %v", name, v, e)
		}
	})
	return err
}

// envFlagsFromOS is envFlags over the process's environment.
func envFlagsFromOS(fs *flag.FlagSet) error { return envFlags(fs, os.Getenv) }
