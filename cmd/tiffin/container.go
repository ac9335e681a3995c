package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"go.uber.org/dig"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/gorgonia"
	"github.com/tiffin-ml/tiffin/backends/onnx"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/config"
	"github.com/tiffin-ml/tiffin/runtime/metrics"
	"github.com/tiffin-ml/tiffin/transport"
	grpct "github.com/tiffin-ml/tiffin/transport/grpc"
	httpt "github.com/tiffin-ml/tiffin/transport/http"
)

// newContainer wires the server's components. One provider per component;
// every Provide error is checked. Each component appends its lifecycle hook
// as it is built, so the order they are built in is the start order (and
// its reverse the stop order): tracing → devices → backends → model manager
// (loads models, starts workers) → metrics → job queue → gRPC → HTTP, which
// accepts traffic last and stops first.
func newContainer(cfg config.Server, log *slog.Logger) (*dig.Container, error) {
	c := dig.New()
	providers := []any{
		func() config.Server { return cfg },
		func() *slog.Logger { return log },
		newLifecycle,
		newTracing,
		newPprof, // pprof.go
		newDevices,
		newGPUSampler,
		newBackends,
		newManager,
		newMetrics,
		newTLS,           // listeners.go
		newMetricsServer, // listeners.go
		newBudget,
		newJobs, // jobs.go
		newHTTPServer,
		newGRPCServer, // grpc.go
	}
	for _, p := range providers {
		if err := c.Provide(p); err != nil {
			return nil, fmt.Errorf("wire components: %w", err)
		}
	}
	// dig builds parameters left to right: this fixes the order above.
	build := func(tracingOn, pprofOn, *runtime.Manager, *metrics.Metrics, metricsOn, httpt.Jobs, *grpct.Server, *httpt.Server) {
	}
	if err := c.Invoke(build); err != nil {
		return nil, fmt.Errorf("build components: %w", err)
	}
	return c, nil
}

// registeredBackends lists the execution engines this build has. A new
// backend is its package plus one line here: everything else (its config
// and platform names, its model files, its place in auto order) it says
// itself through Describe.
var registeredBackends = []func(config.Server, *slog.Logger) backends.Backend{
	func(cfg config.Server, log *slog.Logger) backends.Backend {
		return onnx.New(onnx.Options{LibraryPath: cfg.ORTLibrary, Logger: log}) // cgo; unavailable, with its reason, without it
	},
	func(_ config.Server, log *slog.Logger) backends.Backend {
		return gorgonia.New(gorgonia.Options{Logger: log})
	},
}

// newBackends builds the registered backends. Starting logs whether each
// is available and why not; stopping closes those that hold resources.
func newBackends(cfg config.Server, log *slog.Logger, lc *lifecycle, _ *runtime.Devices) *backends.Registry {
	var all []backends.Backend
	for _, newBackend := range registeredBackends {
		all = append(all, newBackend(cfg, log))
	}
	lc.append(hook{name: "backends",
		start: func(context.Context) error {
			for _, b := range all {
				if err := b.Available(); err != nil {
					log.Warn("backend unavailable", "backend", b.Name(), "reason", err)
				} else {
					log.Info("backend available", "backend", b.Name(), "platforms", b.Describe().Platforms, "files", b.Describe().ModelFiles)
				}
			}
			return nil
		},
		stop: func(context.Context) error {
			var errs []error
			for _, b := range all {
				if c, ok := b.(io.Closer); ok {
					errs = append(errs, c.Close())
				}
			}
			return errors.Join(errs...)
		},
	})
	return backends.NewRegistry(all...)
}

type managerParams struct {
	dig.In
	Config   config.Server
	Log      *slog.Logger
	LC       *lifecycle
	Devices  *runtime.Devices
	Backends *backends.Registry
}

// newDevices reads the host's inventory once and logs it.
func newDevices(log *slog.Logger) (*runtime.Devices, error) {
	d, err := runtime.DiscoverDevices(log)
	if err != nil {
		return nil, fmt.Errorf("discover devices: %w", err)
	}
	log.Info("devices", "inventory", d, "placement", d.Inventory())
	return d, nil
}

// newManager builds the model manager; starting it loads the repository.
func newManager(p managerParams) (*runtime.Manager, error) {
	override, err := deviceOverride(p.Config, p.Devices)
	if err != nil {
		return nil, err
	}
	m := runtime.NewManager(runtime.ManagerOptions{
		Repository: p.Config.ModelRepository, Backends: p.Backends, Inventory: p.Devices.Inventory(),
		Override: override, Logger: p.Log, BulkShare: bulkShare(p.Config.Jobs),
	})
	start, stop := startModels(p.Config.Repository, m) // control.go
	p.LC.append(hook{name: "model manager", start: start, stop: stop})
	return m, nil
}

// bulkShare is the batchers' limit on bulk work beside interactive
// traffic: jobs.max_share when the job queue is on.
func bulkShare(j config.Jobs) float64 {
	if !j.Enabled {
		return 0
	}
	return j.MaxShare
}

// newHTTPServer builds the REST front end; it starts last, so it accepts
// traffic only once the models are loaded, and stops first.
type httpParams struct {
	dig.In
	Config  config.Server
	Log     *slog.Logger
	LC      *lifecycle
	Manager *runtime.Manager
	Devices *runtime.Devices
	Metrics *metrics.Metrics
	Tracing tracingOn
	Jobs    httpt.Jobs // jobs.go; nil with --jobs=false
	Budget  *transport.Budget
	TLS     *tls.Config // nil: plain text
}

// newBudget is the in-flight memory budget both front ends share.
func newBudget(cfg config.Server) *transport.Budget {
	return transport.NewBudget(cfg.MaxInflightBytes)
}

func newHTTPServer(p httpParams) *httpt.Server {
	cfg, lc := p.Config, p.LC
	var metricsHandler http.Handler
	if cfg.AllowMetrics {
		metricsHandler = p.Metrics.Handler()
	}
	s := httpt.New(p.Manager, httpt.Options{
		Addr:          net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.HTTPPort)),
		MaxBodyBytes:  cfg.MaxBodyBytes,
		StrictReady:   cfg.StrictReady,
		Version:       version,
		Logger:        p.Log,
		Access:        access(cfg), // control.go
		Jobs:          p.Jobs,
		MaxJobUpload:  cfg.Jobs.MaxUpload,
		MaxDownloads:  cfg.Jobs.MaxDownloads,
		Budget:        p.Budget,
		HeaderTimeout: cfg.HeaderReadTimeout,
		BodyTimeout:   cfg.BodyReadTimeout,
		WriteTimeout:  cfg.WriteTimeout,
		Observer:      p.Metrics,
		Metrics:       metricsHandler,
		Devices:       newDevicesReport(p.Devices),
		TLS:           p.TLS.Clone(),
	})
	if cfg.AllowHTTP {
		lc.append(hook{name: "http", start: func(context.Context) error { return s.Start() }, stop: s.Shutdown})
	}
	return s
}
