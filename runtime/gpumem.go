package runtime

import (
	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

// gpuMemLimits gives each GPU instance of a version its memory arena bound:
// its group's gpu_mem_limit when set, otherwise DefaultGPUMemFraction of its
// GPU's memory split evenly between the version's instances on that GPU.
// CPU instances, and GPUs of unknown memory, get 0 (the backend's own
// default).
func gpuMemLimits(plans []InstancePlan, groups []config.InstanceGroup, inv Inventory) []uint64 {
	perGPU := map[int]int{}
	for _, p := range plans {
		if p.Device.Kind == backends.GPU {
			perGPU[p.Device.GPU]++
		}
	}
	out := make([]uint64, len(plans))
	for i, p := range plans {
		if p.Device.Kind != backends.GPU {
			continue
		}
		if p.Group < len(groups) && groups[p.Group].GPUMemLimit > 0 {
			out[i] = uint64(groups[p.Group].GPUMemLimit)
			continue
		}
		total := inv.GPUMemory[p.Device.GPU]
		out[i] = uint64(float64(total) * config.DefaultGPUMemFraction / float64(perGPU[p.Device.GPU]))
	}
	return out
}
