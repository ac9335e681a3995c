//go:build linux

package bench

import (
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/tiffin-ml/tiffin/runtime/topology"
)

// PinProcess restricts every thread of this process to cpus (the kernel's
// cpulist format, such as "0" or "0-3,8"), and sets GOMAXPROCS to their
// number: the load generator stays off the cores the server under test
// runs on. Threads started later inherit the set from their creator.
func PinProcess(cpus string) error {
	ids, err := topology.ParseCPUList(cpus)
	if err != nil || len(ids) == 0 {
		return fmt.Errorf("--pin-client %q: want a CPU list such as 0 or 0-3,8", cpus)
	}
	var set unix.CPUSet
	set.Zero()
	for _, c := range ids {
		set.Set(c)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("--pin-client: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
			if err == unix.EINVAL {
				var allowed unix.CPUSet
				if unix.SchedGetaffinity(0, &allowed) == nil {
					return fmt.Errorf("--pin-client %s: none of these CPUs is one this process may run on (%s)", cpus, cpuList(&allowed))
				}
			}
			return fmt.Errorf("--pin-client %s: thread %d: %w", cpus, tid, err)
		}
	}
	goruntime.GOMAXPROCS(len(ids))
	return nil
}

// cpuList is a CPU set in the kernel's cpulist format.
func cpuList(set *unix.CPUSet) string {
	var ids []int
	for c := range 1024 {
		if set.IsSet(c) {
			ids = append(ids, c)
		}
	}
	return topology.FormatCPUList(ids)
}
