//go:build cgo

package gpu

import (
	"os"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

const mib = 1 << 20

// gpuSpec describes a mock GPU built from mock.Device function fields.
type gpuSpec struct {
	uuid, name   string
	total, free  uint64
	major, minor int
	telemetry    Sample // Index is ignored
}

// newMockGPU returns a mock device that answers every query discovery and
// telemetry make from spec.
func newMockGPU(spec gpuSpec) *mock.Device {
	t := spec.telemetry
	return &mock.Device{
		GetUUIDFunc: func() (string, nvml.Return) { return spec.uuid, nvml.SUCCESS },
		GetNameFunc: func() (string, nvml.Return) { return spec.name, nvml.SUCCESS },
		GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) {
			return nvml.Memory{Total: spec.total, Free: spec.free, Used: t.MemoryUsed}, nvml.SUCCESS
		},
		GetCudaComputeCapabilityFunc: func() (int, int, nvml.Return) { return spec.major, spec.minor, nvml.SUCCESS },
		GetMigModeFunc: func() (int, int, nvml.Return) {
			return nvml.DEVICE_MIG_DISABLE, nvml.DEVICE_MIG_DISABLE, nvml.SUCCESS
		},
		GetUtilizationRatesFunc: func() (nvml.Utilization, nvml.Return) {
			return nvml.Utilization{Gpu: t.UtilizationGPU, Memory: t.UtilizationMemory}, nvml.SUCCESS
		},
		GetTemperatureFunc: func(nvml.TemperatureSensors) (uint32, nvml.Return) { return t.TemperatureC, nvml.SUCCESS },
		GetPowerUsageFunc:  func() (uint32, nvml.Return) { return t.PowerMilliwatts, nvml.SUCCESS },
		GetComputeRunningProcessesFunc: func() ([]nvml.ProcessInfo, nvml.Return) {
			return []nvml.ProcessInfo{ // another process, then this one
				{Pid: uint32(os.Getpid()) + 1, UsedGpuMemory: t.MemoryUsed - t.ProcessMemoryUsed},
				{Pid: uint32(os.Getpid()), UsedGpuMemory: t.ProcessMemoryUsed},
			}, nvml.SUCCESS
		},
	}
}

// newMockLib returns an NVML whose devices are devs.
func newMockLib(devs ...nvml.Device) *mock.Interface {
	return &mock.Interface{
		InitFunc:                       func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:                   func() nvml.Return { return nvml.SUCCESS },
		SystemGetDriverVersionFunc:     func() (string, nvml.Return) { return "535.104.05", nvml.SUCCESS },
		SystemGetCudaDriverVersionFunc: func() (int, nvml.Return) { return 12020, nvml.SUCCESS },
		DeviceGetCountFunc:             func() (int, nvml.Return) { return len(devs), nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(i int) (nvml.Device, nvml.Return) {
			if i < 0 || i >= len(devs) {
				return nil, nvml.ERROR_INVALID_ARGUMENT
			}
			return devs[i], nvml.SUCCESS
		},
	}
}

var (
	specL4 = gpuSpec{
		uuid: "GPU-6b3c9a10-0d2e-4f55-8a61-0c9e2f1d7a01", name: "NVIDIA L4",
		total: 23034 * mib, free: 22700 * mib, major: 8, minor: 9,
		telemetry: Sample{UtilizationGPU: 37, UtilizationMemory: 12, MemoryUsed: 334 * mib, ProcessMemoryUsed: 300 * mib, TemperatureC: 51, PowerMilliwatts: 27000},
	}
	specT4 = gpuSpec{
		uuid: "GPU-ee01f3c2-77aa-4b0e-9d3c-5f1a2b3c4d5e", name: "Tesla T4",
		total: 15360 * mib, free: 15000 * mib, major: 7, minor: 5,
		telemetry: Sample{UtilizationGPU: 90, UtilizationMemory: 40, MemoryUsed: 360 * mib, TemperatureC: 70, PowerMilliwatts: 65000},
	}
)

// wantDevice is the Device discovery should make of spec at NVML index i.
func wantDevice(spec gpuSpec, i int) Device {
	return Device{
		Index: i, PhysicalIndex: i, UUID: spec.uuid, Name: spec.name,
		MemoryTotal: spec.total, MemoryFree: spec.free,
		ComputeMajor: spec.major, ComputeMinor: spec.minor,
	}
}

// newDGX returns go-nvml's 8 x A100 mock with telemetry answers on every
// device: utilization 10*i %, temperature 30+i C, power 100+i W.
func newDGX() *server.Server {
	s := dgxa100.New()
	for i, d := range s.Devices {
		dev := d.(*server.Device)
		dev.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
			return nvml.Utilization{Gpu: uint32(10 * i), Memory: uint32(i)}, nvml.SUCCESS
		}
		dev.GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return uint32(30 + i), nvml.SUCCESS }
		dev.GetPowerUsageFunc = func() (uint32, nvml.Return) { return uint32(100+i) * 1000, nvml.SUCCESS }
		dev.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) { return nil, nvml.SUCCESS }
	}
	return s
}

// assertBalanced checks that every Init was matched by a Shutdown.
func assertBalanced(t *testing.T, lib interface {
	InitCalls() []struct{}
	ShutdownCalls() []struct{}
}) {
	t.Helper()
	if i, s := len(lib.InitCalls()), len(lib.ShutdownCalls()); i != s {
		t.Errorf("nvml Init called %d times, Shutdown %d times", i, s)
	}
}
