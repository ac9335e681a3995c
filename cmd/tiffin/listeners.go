package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/tiffin-ml/tiffin/runtime/config"
	"github.com/tiffin-ml/tiffin/runtime/metrics"
)

// metricsOn marks that the metrics listener, when asked for, is built.
type metricsOn struct{}

// newMetricsServer serves /metrics on --metrics-port, a listener of its
// own beside the HTTP front end's /metrics (Triton serves its metrics on
// 8002), with the front ends' TLS. Off with --metrics-port -1 or
// --allow-metrics=false.
func newMetricsServer(cfg config.Server, log *slog.Logger, lc *lifecycle, met *metrics.Metrics, tlsCfg *tls.Config) metricsOn {
	if cfg.MetricsPort < 0 || !cfg.AllowMetrics {
		return metricsOn{}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", met.Handler())
	sideListener(lc, log, "metrics", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.MetricsPort)), mux, tlsCfg)
	return metricsOn{}
}

// sideListener serves handler on a listener of its own beside the front
// ends (over TLS when tlsCfg is set): started and stopped with the
// lifecycle, as pprof and the metrics port are.
func sideListener(lc *lifecycle, log *slog.Logger, name, addr string, handler http.Handler, tlsCfg *tls.Config) {
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	lc.append(hook{name: name,
		start: func(context.Context) error {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("%s listen on %s: %w", name, addr, err)
			}
			if tlsCfg != nil {
				ln = tls.NewListener(ln, tlsCfg)
			}
			log.Info(name+" listening", "addr", ln.Addr().String(), "tls", tlsCfg != nil)
			go func() {
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					log.Error(name+" server", "err", err)
				}
			}()
			return nil
		},
		stop: func(ctx context.Context) error { return srv.Shutdown(ctx) },
	})
}

// newTLS loads --tls-cert and --tls-key, and --tls-client-ca for mTLS;
// nil when TLS is off. Each front end takes a clone (gRPC sets its own
// ALPN protocols).
func newTLS(cfg config.Server) (*tls.Config, error) {
	t := cfg.TLS
	if !t.On() {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.ClientCA != "" {
		pem, err := os.ReadFile(t.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-client-ca: %s holds no PEM certificate", t.ClientCA)
		}
		c.ClientCAs, c.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return c, nil
}
