//go:build !linux

package runtime

import "errors"

// pinThread is a no-op where the OS has no sched_setaffinity; placement
// still splits threads between instances.
func pinThread(cpus []int) error { return nil }

func threadAffinity() ([]int, error) {
	return nil, errors.New("thread affinity is not available on this OS")
}

func threadID() int { return 0 }
