package runtime

import (
	"log/slog"

	"github.com/tiffin-ml/tiffin/gpu"
	"github.com/tiffin-ml/tiffin/runtime/topology"
)

// Devices is the host's inventory: the CPUs this process may use and the
// GPUs NVML can see. It is read once at start.
type Devices struct {
	CPU topology.Topology
	GPU gpu.Inventory
}

// DiscoverDevices reads the CPU topology and asks NVML for GPUs. A host
// without NVML is an ordinary CPU host.
func DiscoverDevices(log *slog.Logger) (*Devices, error) {
	topo, err := topology.ReadHost()
	if err != nil {
		return nil, err
	}
	return &Devices{CPU: topo, GPU: gpu.DiscoverHost(log)}, nil
}

// UsableCPUs lists the CPUs instances may be pinned to: the allowed set,
// cut to the cgroup quota's whole cores.
func (d *Devices) UsableCPUs() []int {
	usable := d.CPU.Usable()
	cpus := d.CPU.Allowed
	if usable < len(cpus) {
		cpus = cpus[:usable]
	}
	return cpus
}

func (d *Devices) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("cpu", d.CPU), slog.Any("gpu", d.GPU))
}
