package runtime

import (
	"log/slog"
	"slices"

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

func (d *Devices) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("cpu", d.CPU), slog.Any("gpu", d.GPU))
}

// Inventory is what placement needs: the usable physical cores, in NUMA
// order, cut to the cgroup quota, and the visible GPUs.
func (d *Devices) Inventory() Inventory {
	nodeOf := map[int]int{}
	for _, c := range d.CPU.CPUs {
		nodeOf[c.ID] = c.NUMANode
	}
	cores := d.CPU.Cores()
	slices.SortStableFunc(cores, func(a, b []int) int { return nodeOf[a[0]] - nodeOf[b[0]] })
	var inv Inventory
	for cpus := 0; len(inv.Cores) < len(cores) && cpus < d.CPU.Usable(); {
		core := cores[len(inv.Cores)]
		inv.Cores = append(inv.Cores, core)
		inv.Nodes = append(inv.Nodes, nodeOf[core[0]])
		cpus += len(core)
	}
	for _, g := range d.GPU.Devices {
		inv.GPUs = append(inv.GPUs, g.Index)
		if inv.GPUMemory == nil {
			inv.GPUMemory = map[int]uint64{}
		}
		inv.GPUMemory[g.Index] = g.MemoryTotal
	}
	return inv
}
