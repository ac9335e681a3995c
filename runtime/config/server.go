package config

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"time"
)

// Server holds the settings of `tiffin serve`, filled from flags.
type Server struct {
	ModelRepository string        // --model-repository; required
	Host            string        // --host; default "" (all interfaces)
	HTTPPort        int           // --http-port; default 8000; 0 picks a free port
	GRPCPort        int           // --grpc-port; default 8001 (kept for the gRPC front end)
	MaxBodyBytes    int           // --max-body-bytes; default 64 MiB
	ORTLibrary      string        // --ort-library; default: $TIFFIN_ORT_LIBRARY, then third_party
	LogFormat       string        // --log-format text|json; default text
	LogLevel        string        // --log-level debug|info|warn|error; default info
	StrictReady     bool          // --strict-readiness: ready only when every model is READY
	ShutdownTimeout time.Duration // --shutdown-timeout; default 30s
	ShutdownDelay   time.Duration // --shutdown-delay: serve on, not ready, before shutdown starts; default 0
	DevicesFile     string        // --devices: the host's device file; default none
	OTLPEndpoint    string        // --otlp-endpoint: OTLP/HTTP traces URL; default "" (tracing off)
	PprofAddr       string        // --pprof-addr: Go's profiles on their own listener; default "" (off), loopback unless a host is given

	MaxInflightBytes  int64         // --max-inflight-bytes: bytes all requests in flight may hold; default 1 GiB
	HeaderReadTimeout time.Duration // --header-read-timeout: a request's headers must arrive within; default 60s
	BodyReadTimeout   time.Duration // --body-read-timeout: a request's body must arrive within; default 60s
	WriteTimeout      time.Duration // --write-timeout: a response must be written within; default 60s

	AllowHTTP     bool   // --allow-http: serve the HTTP front end; default true
	AllowGRPC     bool   // --allow-grpc: serve the gRPC front end; default true
	AllowMetrics  bool   // --allow-metrics: serve /metrics; default true
	MetricsPort   int    // --metrics-port: /metrics on a listener of its own too; default -1 (none); 0 picks a free port
	MetricsCompat string // --metrics-compat: "" or "triton" (also Triton's nv_inference_* names)
	TLS           TLS    // --tls-cert, --tls-key, --tls-client-ca (listeners.go)

	// TritonIgnored lists Triton's flags given and not acted on, as
	// "--flag=value", for one warning at start.
	TritonIgnored []string

	GRPC       GRPC       // the gRPC front end's transport settings
	Repository Repository // who may load, unload, run jobs and infer (control.go)
	Jobs       Jobs       // the bulk job queue (jobs.go); the zero value is off
}

// GRPC holds the gRPC front end's message limits and keepalive settings.
type GRPC struct {
	MaxRecvBytes     int           // --grpc-max-recv-bytes; default 64 MiB, as --max-body-bytes
	MaxSendBytes     int           // --grpc-max-send-bytes; default 64 MiB
	KeepaliveTime    time.Duration // --grpc-keepalive-time: ping a client idle this long; default 60s
	KeepaliveTimeout time.Duration // --grpc-keepalive-timeout: close when a ping goes unanswered this long; default 20s
	KeepaliveMinTime time.Duration // --grpc-keepalive-min-time: clients pinging more often are disconnected; default 10s
}

// Server defaults.
const (
	DefaultHTTPPort        = 8000
	DefaultGRPCPort        = 8001
	DefaultMaxBodyBytes    = 64 << 20
	DefaultShutdownTimeout = 30 * time.Second

	DefaultMaxInflightBytes = 1 << 30
	DefaultReadTimeout      = 60 * time.Second
	DefaultWriteTimeout     = 60 * time.Second

	DefaultGRPCMaxMessageBytes  = 64 << 20
	DefaultGRPCKeepaliveTime    = 60 * time.Second
	DefaultGRPCKeepaliveTimeout = 20 * time.Second
	DefaultGRPCKeepaliveMinTime = 10 * time.Second
)

// DefaultServer returns the settings `tiffin serve` starts from.
func DefaultServer() Server {
	return Server{
		HTTPPort:        DefaultHTTPPort,
		GRPCPort:        DefaultGRPCPort,
		MaxBodyBytes:    DefaultMaxBodyBytes,
		LogFormat:       "text",
		LogLevel:        "info",
		ShutdownTimeout: DefaultShutdownTimeout,
		StrictReady:     true,
		AllowHTTP:       true,
		AllowGRPC:       true,
		AllowMetrics:    true,
		MetricsPort:     -1,

		MaxInflightBytes:  DefaultMaxInflightBytes,
		HeaderReadTimeout: DefaultReadTimeout,
		BodyReadTimeout:   DefaultReadTimeout,
		WriteTimeout:      DefaultWriteTimeout,
		GRPC: GRPC{
			MaxRecvBytes:     DefaultGRPCMaxMessageBytes,
			MaxSendBytes:     DefaultGRPCMaxMessageBytes,
			KeepaliveTime:    DefaultGRPCKeepaliveTime,
			KeepaliveTimeout: DefaultGRPCKeepaliveTimeout,
			KeepaliveMinTime: DefaultGRPCKeepaliveMinTime,
		},
		Repository: DefaultRepository(),
	}
}

// Validate checks the flags, naming the flag at fault.
func (s *Server) Validate() error {
	if s.ModelRepository == "" {
		return fmt.Errorf("--model-repository is required: a folder of <model>/<version>/model.onnx (tiffin demo-models DIR writes an example)")
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"--http-port", s.HTTPPort}, {"--grpc-port", s.GRPCPort}} {
		if p.v < 0 || p.v > 65535 {
			return fmt.Errorf("%s: %d is not a port", p.name, p.v)
		}
	}
	if err := s.validateTriton(); err != nil { // listeners.go
		return err
	}
	if s.MaxBodyBytes <= 0 {
		return fmt.Errorf("--max-body-bytes: must be > 0, got %d", s.MaxBodyBytes)
	}
	if s.MaxInflightBytes < int64(s.MaxBodyBytes) {
		return fmt.Errorf("--max-inflight-bytes: %d is less than --max-body-bytes (%d), so the largest request could never run", s.MaxInflightBytes, s.MaxBodyBytes)
	}
	if err := positive(setting[time.Duration]{"--header-read-timeout", s.HeaderReadTimeout},
		setting[time.Duration]{"--body-read-timeout", s.BodyReadTimeout}, setting[time.Duration]{"--write-timeout", s.WriteTimeout}); err != nil {
		return err
	}
	if s.ShutdownTimeout < 0 {
		return fmt.Errorf("--shutdown-timeout: must not be negative, got %s", s.ShutdownTimeout)
	}
	if s.ShutdownDelay < 0 {
		return fmt.Errorf("--shutdown-delay: must not be negative, got %s", s.ShutdownDelay)
	}
	if s.LogFormat != "text" && s.LogFormat != "json" {
		return fmt.Errorf("--log-format: want text or json, got %q", s.LogFormat)
	}
	if err := s.GRPC.validate(); err != nil {
		return err
	}
	if err := s.Repository.validate(); err != nil {
		return err
	}
	if err := s.Jobs.Validate(); err != nil { // nil with --jobs=false
		return err
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(s.LogLevel)); err != nil {
		return fmt.Errorf("--log-level: want debug, info, warn or error, got %q", s.LogLevel)
	}
	return nil
}

// AbsPaths makes the model repository and the data directory absolute,
// against the working directory at start: every path the server names
// then starts with "/", so transport.Public can cut it from what clients
// see (README, "Security model"), and a later change of directory cannot
// move them.
func (s *Server) AbsPaths() error {
	for _, p := range []*string{&s.ModelRepository, &s.Jobs.DataDir} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("make %q absolute: %w", *p, err)
		}
		*p = abs
	}
	return nil
}

// LogValue lets the effective config be logged once at start.
func (s Server) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("model_repository", s.ModelRepository),
		slog.String("host", s.Host),
		slog.Int("http_port", s.HTTPPort),
		slog.Int("grpc_port", s.GRPCPort),
		slog.Int("max_body_bytes", s.MaxBodyBytes),
		slog.String("ort_library", s.ORTLibrary),
		slog.String("log_format", s.LogFormat),
		slog.Bool("strict_readiness", s.StrictReady),
		slog.Duration("shutdown_timeout", s.ShutdownTimeout),
		slog.Duration("shutdown_delay", s.ShutdownDelay),
		slog.String("devices_file", s.DevicesFile),
		slog.String("otlp_endpoint", s.OTLPEndpoint),
		slog.String("pprof_addr", s.PprofAddr),
		slog.Int64("max_inflight_bytes", s.MaxInflightBytes),
		slog.Duration("header_read_timeout", s.HeaderReadTimeout),
		slog.Duration("body_read_timeout", s.BodyReadTimeout),
		slog.Duration("write_timeout", s.WriteTimeout),
		slog.Int("grpc_max_recv_bytes", s.GRPC.MaxRecvBytes),
		slog.Int("grpc_max_send_bytes", s.GRPC.MaxSendBytes),
		slog.Duration("grpc_keepalive_time", s.GRPC.KeepaliveTime),
		slog.Any("repository", s.Repository),
		slog.Bool("allow_http", s.AllowHTTP),
		slog.Bool("allow_grpc", s.AllowGRPC),
		slog.Bool("allow_metrics", s.AllowMetrics),
		slog.Int("metrics_port", s.MetricsPort),
		slog.String("metrics_compat", s.MetricsCompat),
		slog.Bool("tls", s.TLS.On()),
		slog.Bool("mtls", s.TLS.ClientCA != ""),
	)
}

func (g GRPC) validate() error {
	if err := positive(setting[int]{"--grpc-max-recv-bytes", g.MaxRecvBytes}, setting[int]{"--grpc-max-send-bytes", g.MaxSendBytes}); err != nil {
		return err
	}
	if err := positive(setting[time.Duration]{"--grpc-keepalive-time", g.KeepaliveTime},
		setting[time.Duration]{"--grpc-keepalive-timeout", g.KeepaliveTimeout}, setting[time.Duration]{"--grpc-keepalive-min-time", g.KeepaliveMinTime}); err != nil {
		return err
	}
	return nil
}

// setting is a flag's name and value, for positive.
type setting[T int | time.Duration] struct {
	name string
	v    T
}

// positive names the first setting whose value is not > 0.
func positive[T int | time.Duration](settings ...setting[T]) error {
	for _, f := range settings {
		if f.v <= 0 {
			return fmt.Errorf("%s: must be > 0, got %v", f.name, f.v)
		}
	}
	return nil
}
