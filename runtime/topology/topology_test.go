package topology

import (
	"bytes"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestUsable(t *testing.T) {
	tests := []struct {
		allowed int
		quota   float64
		want    int
	}{
		{4, 0, 4},
		{4, 1.5, 2},
		{4, 0.1, 1},
		{4, 4, 4},
		{4, 16, 4},
		{2, 2.01, 2},
		{0, 0, 0},
	}
	for _, tt := range tests {
		topo := Topology{Allowed: make([]int, tt.allowed), Quota: tt.quota}
		if got := topo.Usable(); got != tt.want {
			t.Errorf("Usable with %d allowed, quota %v = %d, want %d", tt.allowed, tt.quota, got, tt.want)
		}
	}
}

func TestLogValue(t *testing.T) {
	topo, err := readHost(writeTree(t, machine(2, 4, 2, true).with(cgroupV2).with(
		files{cgroupMount + "/cpu.max": "150000 100000"})), []int{0, 1, 2, 3, 8, 9})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("cpu", "topology", topo)
	for _, want := range []string{
		"topology.online=16", "topology.allowed=0-3,8-9", "topology.cores=4", "topology.sockets=2",
		"topology.numa_nodes=[0]", "topology.quota=1.5", "topology.usable=2",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log line %q lacks %q", buf.String(), want)
		}
	}
}

// TestReadHost reads this machine and checks that the answer is sane.
func TestReadHost(t *testing.T) {
	topo, err := ReadHost()
	if err != nil {
		t.Fatalf("ReadHost: %v", err)
	}
	t.Logf("host: %v", topo.LogValue())
	if topo.Usable() < 1 {
		t.Errorf("Usable() = %d, want at least 1", topo.Usable())
	}
	online := make(map[int]bool)
	for _, c := range topo.CPUs {
		online[c.ID] = true
		if !slices.Contains(c.Siblings, c.ID) {
			t.Errorf("CPU %d is not among its own siblings %v", c.ID, c.Siblings)
		}
	}
	for _, id := range topo.Allowed {
		if !online[id] {
			t.Errorf("allowed CPU %d is not online", id)
		}
	}
	if runtime.GOOS == "linux" && len(topo.Allowed) != runtime.NumCPU() {
		t.Errorf("%d allowed CPUs, runtime.NumCPU() = %d", len(topo.Allowed), runtime.NumCPU())
	}
	var inCores []int
	for _, core := range topo.Cores() {
		inCores = append(inCores, core...)
	}
	slices.Sort(inCores)
	if !slices.Equal(inCores, topo.Allowed) {
		t.Errorf("Cores() cover %v, want the allowed CPUs %v", inCores, topo.Allowed)
	}
}
