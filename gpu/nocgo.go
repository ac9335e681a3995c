//go:build !cgo

package gpu

import (
	"errors"
	"log/slog"
)

// noCGOReason says why a build without cgo has no GPUs.
const noCGOReason = "gpu discovery is not available in a build without cgo"

// DiscoverHost reports no GPUs in a build without cgo: go-nvml needs cgo.
// It logs one info line saying so.
func DiscoverHost(logger *slog.Logger) Inventory {
	orDefault(logger).Info("no NVIDIA GPU available; running as a CPU host", "reason", noCGOReason)
	return Inventory{}
}

// NewHostSampler returns a Sampler whose Start fails: a build without cgo
// cannot read GPU telemetry.
func NewHostSampler(devices []Device, cfg SamplerConfig) *Sampler {
	return newSampler(noSource{}, cfg)
}

// noSource is the telemetry source of a build without cgo.
type noSource struct{}

func (noSource) open() error      { return errors.New("gpu: " + noCGOReason) }
func (noSource) sample() []Sample { return nil }
func (noSource) close()           {}
