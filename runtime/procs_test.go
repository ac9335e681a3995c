package runtime

import (
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
)

func TestWorkerOwnThread(t *testing.T) {
	if len(processCPUs) == 0 {
		t.Skip("no CPU affinity on this OS")
	}
	w := func(kind backends.DeviceKind, cores []int) *worker {
		return &worker{spec: backends.LoadSpec{Device: backends.Device{Kind: kind, Cores: cores}}}
	}
	if w(backends.CPU, processCPUs).ownThread() {
		t.Error("an instance on every process CPU got a locked thread")
	}
	if !w(backends.GPU, nil).ownThread() {
		t.Error("a GPU instance has no thread of its own")
	}
	if len(processCPUs) > 1 && !w(backends.CPU, processCPUs[:1]).ownThread() {
		t.Error("an instance on some of the CPUs is not pinned")
	}
	if !sameCPUs([]int{2, 0, 1}, []int{0, 1, 2}) || sameCPUs([]int{0, 1}, []int{0, 2}) {
		t.Error("sameCPUs")
	}
}
