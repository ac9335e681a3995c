package main

import (
	"context"
	"log/slog"

	"github.com/tiffin-ml/tiffin/gpu"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/config"
	"github.com/tiffin-ml/tiffin/runtime/metrics"
	"github.com/tiffin-ml/tiffin/runtime/tracing"
)

// newGPUSampler samples GPU telemetry while the server runs; nil on a host
// without GPUs.
func newGPUSampler(log *slog.Logger, lc *lifecycle, dev *runtime.Devices) metrics.GPUs {
	if len(dev.GPU.Devices) == 0 {
		return nil
	}
	s := gpu.NewHostSampler(dev.GPU.Devices, gpu.SamplerConfig{Logger: log})
	lc.append(hook{name: "gpu telemetry",
		start: func(ctx context.Context) error {
			if err := s.Start(context.Background()); err != nil {
				log.Warn("gpu telemetry off", "err", err)
			}
			return nil
		},
		stop: func(context.Context) error { s.Stop(); return nil },
	})
	return s
}

// newMetrics builds the Prometheus registry over the model manager and the
// device inventory, with Triton's metric names under --metrics-compat
// triton.
func newMetrics(cfg config.Server, m *runtime.Manager, gpus metrics.GPUs, dev *runtime.Devices) (*metrics.Metrics, error) {
	met := metrics.New(m, gpus)
	if err := met.RegisterDevices(dev); err != nil {
		return nil, err
	}
	if cfg.MetricsCompat == config.MetricsCompatTriton {
		if err := met.EnableTritonNames(); err != nil {
			return nil, err
		}
	}
	return met, nil
}

// tracingOn marks that the tracer provider is installed (dig builds it
// before the transports, which start spans).
type tracingOn struct{}

// newTracing installs OpenTelemetry: the OTLP exporter when --otlp-endpoint
// is set, the W3C propagator always. Its stop flushes spans last.
func newTracing(cfg config.Server, log *slog.Logger, lc *lifecycle) (tracingOn, error) {
	shutdown, err := tracing.Setup(context.Background(), cfg.OTLPEndpoint, "tiffin", version, log)
	if err != nil {
		return tracingOn{}, err
	}
	lc.append(hook{name: "tracing", stop: shutdown})
	return tracingOn{}, nil
}

// deviceOverride turns the host's device file into the manager's config
// override; nil without one.
func deviceOverride(cfg config.Server, dev *runtime.Devices) (func(string, *config.Model) error, error) {
	if cfg.DevicesFile == "" {
		return nil, nil
	}
	f, err := config.LoadDevices(cfg.DevicesFile)
	if err != nil {
		return nil, err
	}
	haveGPU := len(dev.GPU.Devices) > 0
	kindOf := func(k string) string {
		if k == config.KindGPU || k == config.KindAuto && haveGPU {
			return config.KindGPU
		}
		return config.KindCPU
	}
	return func(model string, c *config.Model) error {
		f.Apply(model, c, kindOf)
		return nil
	}, nil
}
