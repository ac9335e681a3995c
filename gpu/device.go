package gpu

import (
	"fmt"
	"log/slog"
	"strconv"
)

// Device is one GPU as CUDA will number it in this process.
type Device struct {
	// Index is the CUDA device ordinal in this process: the position in
	// CUDA_VISIBLE_DEVICES when it is set, the NVML index otherwise.
	Index int
	// PhysicalIndex is the NVML index of the physical GPU, which is what
	// nvidia-smi shows and what CUDA_VISIBLE_DEVICES indexes refer to.
	PhysicalIndex int
	// UUID is "GPU-..." for a whole GPU, "MIG-..." for a MIG instance
	// selected through CUDA_VISIBLE_DEVICES (see ParentUUID).
	UUID string
	Name string
	// MemoryTotal and MemoryFree are in bytes, as read at discovery.
	MemoryTotal, MemoryFree uint64
	// ComputeMajor and ComputeMinor are the CUDA compute capability.
	ComputeMajor, ComputeMinor int
	// MIGEnabled reports whether the physical GPU is in MIG mode.
	MIGEnabled bool
	// MIGDevices lists the MIG instances of a MIG-enabled GPU.
	MIGDevices []MIGDevice
	// ParentUUID is set when this entry is a MIG instance: it is the UUID
	// of the physical GPU at PhysicalIndex.
	ParentUUID string
}

// MIGDevice is one MIG instance of a MIG-enabled GPU.
type MIGDevice struct {
	UUID                    string
	Name                    string
	MemoryTotal, MemoryFree uint64
}

// Inventory is what discovery found on the host.
type Inventory struct {
	// Driver is the NVIDIA driver version, e.g. "550.54.15".
	Driver string
	// CUDAVersion is the CUDA version the driver supports, e.g. "12.4".
	CUDAVersion string
	Devices     []Device
}

// Sample is one telemetry reading of one device. A value the device does
// not support is left zero.
type Sample struct {
	// Index is the Device.Index the sample belongs to.
	Index                             int
	UtilizationGPU, UtilizationMemory uint32 // percent
	MemoryUsed                        uint64 // bytes, all processes
	// ProcessMemoryUsed is what this process holds on the device, as
	// NVML's list of compute processes reports it; 0 when NVML cannot see
	// this process (a container's PID namespace hides host PIDs).
	ProcessMemoryUsed uint64
	TemperatureC      uint32
	PowerMilliwatts   uint32
}

// LogValue implements slog.LogValuer.
func (d Device) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.Int("index", d.Index),
		slog.Int("physical_index", d.PhysicalIndex),
		slog.String("uuid", d.UUID),
		slog.String("name", d.Name),
		slog.Uint64("memory_total", d.MemoryTotal),
		slog.Uint64("memory_free", d.MemoryFree),
		slog.String("compute", fmt.Sprintf("%d.%d", d.ComputeMajor, d.ComputeMinor)),
		slog.Bool("mig", d.MIGEnabled),
	}
	if len(d.MIGDevices) > 0 {
		attrs = append(attrs, slog.Int("mig_devices", len(d.MIGDevices)))
	}
	if d.ParentUUID != "" {
		attrs = append(attrs, slog.String("parent_uuid", d.ParentUUID))
	}
	return slog.GroupValue(attrs...)
}

// LogValue implements slog.LogValuer.
func (inv Inventory) LogValue() slog.Value {
	devs := make([]slog.Attr, len(inv.Devices))
	for i, d := range inv.Devices {
		devs[i] = slog.Any(strconv.Itoa(i), d)
	}
	return slog.GroupValue(
		slog.String("driver", inv.Driver),
		slog.String("cuda", inv.CUDAVersion),
		slog.Int("count", len(inv.Devices)),
		slog.Attr{Key: "devices", Value: slog.GroupValue(devs...)},
	)
}

// orDefault returns logger, or slog.Default() when it is nil.
func orDefault(logger *slog.Logger) *slog.Logger {
	if logger == nil {
		return slog.Default()
	}
	return logger
}
