package main

import (
	"context"
	"crypto/tls"
	"flag"
	"log/slog"
	"net"
	"strconv"

	"google.golang.org/grpc/keepalive"

	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/config"
	"github.com/tiffin-ml/tiffin/runtime/metrics"
	"github.com/tiffin-ml/tiffin/transport"
	grpct "github.com/tiffin-ml/tiffin/transport/grpc"
)

// grpcFlags adds the gRPC front end's flags
// to `tiffin serve`.
func grpcFlags(fs *flag.FlagSet, cfg *config.Server) {
	g := &cfg.GRPC
	fs.IntVar(&g.MaxRecvBytes, "grpc-max-recv-bytes", g.MaxRecvBytes, "largest gRPC request message accepted")
	fs.IntVar(&g.MaxSendBytes, "grpc-max-send-bytes", g.MaxSendBytes, "largest gRPC response message sent")
	fs.DurationVar(&g.KeepaliveTime, "grpc-keepalive-time", g.KeepaliveTime, "ping a gRPC client whose connection is idle this long")
	fs.DurationVar(&g.KeepaliveTimeout, "grpc-keepalive-timeout", g.KeepaliveTimeout, "close a gRPC connection whose ping goes unanswered this long")
	fs.DurationVar(&g.KeepaliveMinTime, "grpc-keepalive-min-time", g.KeepaliveMinTime, "disconnect gRPC clients that ping more often than this")
}

// newGRPCServer builds the gRPC front end. Like the HTTP server it starts
// after the model manager and stops before it.
func newGRPCServer(cfg config.Server, log *slog.Logger, lc *lifecycle, m *runtime.Manager, met *metrics.Metrics, budget *transport.Budget, tlsCfg *tls.Config, _ tracingOn) *grpct.Server {
	g := cfg.GRPC
	s := grpct.New(m, grpct.Options{
		Addr:         net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.GRPCPort)),
		MaxRecvBytes: g.MaxRecvBytes,
		MaxSendBytes: g.MaxSendBytes,
		Keepalive:    keepalive.ServerParameters{Time: g.KeepaliveTime, Timeout: g.KeepaliveTimeout},
		KeepalivePolicy: keepalive.EnforcementPolicy{MinTime: g.KeepaliveMinTime,
			PermitWithoutStream: true},
		StrictReady: cfg.StrictReady,
		Version:     version,
		Access:      access(cfg), // control.go
		Observer:    met,
		Budget:      budget,
		Logger:      log,
		TLS:         tlsCfg.Clone(),
	})
	if cfg.AllowGRPC {
		lc.append(hook{name: "grpc", start: func(context.Context) error { return s.Start() }, stop: s.Shutdown})
	}
	return s
}
