package runtime

import (
	"context"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/backendtest"
)

// TestWorkersPinnedToDifferentCores loads a model with count: 2 on this
// host and reads each worker thread's affinity back from the kernel. The
// fake backend is enough: pinning is the worker's, not the engine's.
func TestWorkersPinnedToDifferentCores(t *testing.T) {
	var host unix.CPUSet
	if err := unix.SchedGetaffinity(0, &host); err != nil || host.Count() < 2 {
		t.Skipf("needs 2 CPUs in the affinity mask, have %d", host.Count())
	}
	repo := t.TempDir()
	if err := backendtest.WriteModel(repo, "m", "instance_groups:\n  - kind: cpu\n    count: 2\n", 1); err != nil {
		t.Fatal(err)
	}
	var cpus []int
	for c := 0; c < 1024 && len(cpus) < 2; c++ {
		if host.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	m := NewManager(ManagerOptions{Repository: repo, Backends: backends.NewRegistry(backendtest.New(backendtest.Options{})),
		Inventory: Inventory{Cores: [][]int{{cpus[0]}, {cpus[1]}}, Nodes: []int{0, 0}}})
	if err := m.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	v, err := m.Version("m", 0)
	if err != nil || !v.Ready() {
		t.Fatalf("model not ready: %v %+v", err, v.Status())
	}
	var seen []int
	for _, in := range v.Instances() {
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(in.ThreadID, &set); err != nil {
			t.Fatalf("instance %d thread %d: %v", in.Instance, in.ThreadID, err)
		}
		if set.Count() != 1 || !set.IsSet(in.Device.Cores[0]) {
			t.Fatalf("instance %d: thread %d runs on %d CPUs, want only cpu %d", in.Instance, in.ThreadID, set.Count(), in.Device.Cores[0])
		}
		if slices.Contains(seen, in.Device.Cores[0]) {
			t.Fatalf("two instances pinned to cpu %d", in.Device.Cores[0])
		}
		seen = append(seen, in.Device.Cores[0])
	}
	if len(seen) != 2 {
		t.Fatalf("%d instances, want 2", len(seen))
	}
}
