//go:build linux

package runtime

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// pinThread restricts the calling OS thread to the given CPUs. The caller
// must hold runtime.LockOSThread, or the pin lands on a thread other
// goroutines share.
func pinThread(cpus []int) error {
	if len(cpus) == 0 {
		return nil
	}
	var set unix.CPUSet
	set.Zero()
	for _, c := range cpus {
		set.Set(c)
	}
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("pin thread to cpus %v: %w", cpus, err)
	}
	return nil
}

// threadAffinity reads the calling thread's CPU set back.
func threadAffinity() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, err
	}
	var cpus []int
	for c := 0; c < len(set)*64; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// threadID is the calling OS thread's id.
func threadID() int { return unix.Gettid() }

// setThreadNice sets the calling OS thread's nice value. The caller must
// hold runtime.LockOSThread and never hand the thread back: an
// unprivileged process cannot lower the value again.
//
// It also asks for a short time slice (Linux 6.12 and later take one for
// normal threads; older kernels ignore it): the kernel lets a running
// thread finish its slice before a woken one preempts it, whatever their
// nice values.
func setThreadNice(nice int) error {
	if err := unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), nice); err != nil {
		return fmt.Errorf("set thread nice %d: %w", nice, err)
	}
	// Policy 0 is SCHED_OTHER, the normal class.
	_ = unix.SchedSetAttr(0, &unix.SchedAttr{Nice: int32(nice), Runtime: uint64(lowSlice)}, 0)
	return nil
}

// threadCPU is the CPU time the calling OS thread has used; 0 if unknown.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
