//go:build linux

package topology

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// ReadHost reads this host's topology (Read("/")) and narrows Allowed to
// the CPUs in the process's affinity mask. When /sys has no CPU
// information it returns the affinity mask's CPUs, each its own core on
// node 0.
//
// The mask is read from the calling thread, which is the process's mask
// unless the caller pinned its own thread: call ReadHost before pinning
// any worker threads.
func ReadHost() (Topology, error) {
	affinity, err := affinityCPUs()
	if err != nil {
		return Topology{}, err
	}
	return readHost("/", affinity)
}

// affinityCPUs returns the CPUs of the calling thread's affinity mask.
func affinityCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("topology: sched_getaffinity: %w", err)
	}
	n := set.Count()
	ids := make([]int, 0, n)
	for id := 0; len(ids) < n; id++ {
		if set.IsSet(id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
