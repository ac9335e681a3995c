//go:build cgo

package gpu

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// NewSampler returns a Sampler that reads the devices through lib, which
// it initialises on Start and shuts down on Stop. devices are those to
// sample, typically Inventory.Devices: each is read through its physical
// GPU (PhysicalIndex) and its samples carry its Index. With no devices
// the Sampler reads nothing and Latest returns an empty slice.
func NewSampler(lib nvml.Interface, devices []Device, cfg SamplerConfig) *Sampler {
	src := &nvmlSource{lib: lib, devices: devices, logger: orDefault(cfg.Logger), pid: uint32(os.Getpid())}
	return newSampler(src, cfg)
}

// NewHostSampler returns a Sampler over the real NVML library; see
// NewSampler. Its Start fails on a host without NVIDIA drivers.
func NewHostSampler(devices []Device, cfg SamplerConfig) *Sampler {
	return NewSampler(nvml.New(), devices, cfg)
}

// nvmlSource reads telemetry through NVML.
type nvmlSource struct {
	lib     nvml.Interface
	devices []Device
	logger  *slog.Logger
	pid     uint32 // this process, whose GPU memory is ProcessMemoryUsed

	// Set by open, then only used by the sampling goroutine.
	handles  []nvml.Device          // one per device
	reported map[string]nvml.Return // last error logged per device field
}

func (s *nvmlSource) open() error {
	if err := initLib(s.lib); err != nil {
		return err
	}
	if err := s.resolve(); err != nil {
		_ = s.lib.Shutdown() // resolve's error is the one to report
		return err
	}
	s.reported = make(map[string]nvml.Return)
	return nil
}

// resolve finds the NVML handle of every device to sample.
func (s *nvmlSource) resolve() error {
	s.handles = make([]nvml.Device, len(s.devices))
	for i, d := range s.devices {
		h, ret := s.lib.DeviceGetHandleByIndex(d.PhysicalIndex)
		if ret != nvml.SUCCESS {
			return fmt.Errorf("gpu: device %d: handle: %w", d.PhysicalIndex, ret)
		}
		s.handles[i] = h
	}
	return nil
}

func (s *nvmlSource) close() {
	if ret := s.lib.Shutdown(); ret != nvml.SUCCESS {
		s.logger.Warn("gpu telemetry: nvml shutdown failed", "error", ret)
	}
}

func (s *nvmlSource) sample() []Sample {
	out := make([]Sample, len(s.handles))
	for i, h := range s.handles {
		out[i] = s.sampleOne(h, s.devices[i].Index)
	}
	return out
}

func (s *nvmlSource) sampleOne(h nvml.Device, index int) Sample {
	smp := Sample{Index: index}
	if u, ret := h.GetUtilizationRates(); s.ok(ret, index, "utilization") {
		smp.UtilizationGPU, smp.UtilizationMemory = u.Gpu, u.Memory
	}
	if m, ret := h.GetMemoryInfo(); s.ok(ret, index, "memory") {
		smp.MemoryUsed = m.Used
	}
	if procs, ret := h.GetComputeRunningProcesses(); s.ok(ret, index, "processes") {
		for _, p := range procs {
			if p.Pid == s.pid {
				smp.ProcessMemoryUsed += p.UsedGpuMemory
			}
		}
	}
	if t, ret := h.GetTemperature(nvml.TEMPERATURE_GPU); s.ok(ret, index, "temperature") {
		smp.TemperatureC = t
	}
	if p, ret := h.GetPowerUsage(); s.ok(ret, index, "power") {
		smp.PowerMilliwatts = p
	}
	return smp
}

// ok reports whether ret is SUCCESS. An error other than NOT_SUPPORTED is
// logged when it first appears for a device field, not on every sample.
func (s *nvmlSource) ok(ret nvml.Return, index int, field string) bool {
	key := fmt.Sprintf("%d/%s", index, field)
	last, seen := s.reported[key]
	switch {
	case ret == nvml.SUCCESS || ret == nvml.ERROR_NOT_SUPPORTED:
		delete(s.reported, key)
	case !seen || last != ret:
		s.reported[key] = ret
		s.logger.Warn("gpu telemetry: query failed; the value reads zero until it recovers",
			"device", index, "field", field, "error", ret)
	}
	return ret == nvml.SUCCESS
}
