//go:build !linux

package runtime

import (
	"errors"
	"time"
)

// pinThread is a no-op where the OS has no sched_setaffinity; placement
// still splits threads between instances.
func pinThread(cpus []int) error { return nil }

func threadAffinity() ([]int, error) {
	return nil, errors.New("thread affinity is not available on this OS")
}

func threadID() int { return 0 }

// setThreadNice is refused where threads have no nice value of their own:
// bulk batches then run at the process's priority.
func setThreadNice(int) error { return errors.New("per-thread priority is not available on this OS") }

// threadCPU is unknown here; low threads are refused anyway.
func threadCPU() time.Duration { return 0 }
