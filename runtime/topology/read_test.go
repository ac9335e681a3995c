package topology

import (
	"errors"
	"reflect"
	"testing"
)

var cgroupV2 = files{cgroupMount + "/cgroup.controllers": "cpuset cpu io memory pids\n"}

func TestReadFakeHosts(t *testing.T) {
	tests := []struct {
		name     string
		fs       files
		affinity []int // nil: every online CPU
		cores    [][]int
		nodes    map[int][]int
		sockets  int
		quota    float64
		usable   int
	}{
		{
			name:    "2-core VM without SMT",
			fs:      machine(1, 2, 1, false),
			cores:   [][]int{{0}, {1}},
			nodes:   map[int][]int{0: {0, 1}},
			sockets: 1, usable: 2,
		},
		{
			name:  "8 cores 16 threads, one socket",
			fs:    machine(1, 8, 2, true),
			cores: [][]int{{0, 8}, {1, 9}, {2, 10}, {3, 11}, {4, 12}, {5, 13}, {6, 14}, {7, 15}},
			nodes: map[int][]int{0: span(0, 15)}, sockets: 1, usable: 16,
		},
		{
			name:    "2 sockets, 2 NUMA nodes",
			fs:      machine(2, 4, 2, true),
			cores:   [][]int{{0, 8}, {1, 9}, {2, 10}, {3, 11}, {4, 12}, {5, 13}, {6, 14}, {7, 15}},
			nodes:   map[int][]int{0: {0, 1, 2, 3, 8, 9, 10, 11}, 1: {4, 5, 6, 7, 12, 13, 14, 15}},
			sockets: 2, usable: 16,
		},
		{
			name:  "cgroup v2 container limited to 1.5 CPUs",
			fs:    machine(1, 4, 1, false).with(cgroupV2).with(files{cgroupMount + "/cpu.max": "150000 100000\n"}),
			cores: [][]int{{0}, {1}, {2}, {3}}, nodes: map[int][]int{0: {0, 1, 2, 3}},
			sockets: 1, quota: 1.5, usable: 2,
		},
		{
			name:  "cgroup v2 without a limit",
			fs:    machine(1, 4, 1, false).with(cgroupV2).with(files{cgroupMount + "/cpu.max": "max 100000\n"}),
			cores: [][]int{{0}, {1}, {2}, {3}}, nodes: map[int][]int{0: {0, 1, 2, 3}},
			sockets: 1, usable: 4,
		},
		{
			name: "cgroup v1 quota",
			fs: machine(1, 4, 1, false).with(files{
				cgroupMount + "/cpu,cpuacct/cpu.cfs_quota_us":  "250000\n",
				cgroupMount + "/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
			}),
			cores: [][]int{{0}, {1}, {2}, {3}}, nodes: map[int][]int{0: {0, 1, 2, 3}},
			sockets: 1, quota: 2.5, usable: 3,
		},
		{
			name:     "affinity restricted to part of two cores",
			fs:       machine(1, 8, 2, true),
			affinity: []int{2, 3, 10, 11, 12},
			cores:    [][]int{{2, 10}, {3, 11}, {12}},
			nodes:    map[int][]int{0: {2, 3, 10, 11, 12}}, sockets: 1, usable: 5,
		},
		{
			name:     "affinity to one NUMA node, quota above it",
			fs:       machine(2, 2, 1, true).with(cgroupV2).with(files{cgroupMount + "/cpu.max": "300000 100000"}),
			affinity: []int{1, 3},
			cores:    [][]int{{1}, {3}},
			nodes:    map[int][]int{0: {1}, 1: {3}}, sockets: 2, quota: 3, usable: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, tt.fs)
			topo, err := Read(root)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if tt.affinity != nil {
				if topo, err = readHost(root, tt.affinity); err != nil {
					t.Fatalf("readHost: %v", err)
				}
			}
			checkTopology(t, topo, tt.cores, tt.nodes, tt.sockets, tt.quota, tt.usable)
		})
	}
}

func checkTopology(t *testing.T, topo Topology, cores [][]int, nodes map[int][]int, sockets int, quota float64, usable int) {
	t.Helper()
	if got := topo.Cores(); !reflect.DeepEqual(got, cores) {
		t.Errorf("Cores() = %v, want %v", got, cores)
	}
	if got := topo.NUMANodes(); !reflect.DeepEqual(got, nodes) {
		t.Errorf("NUMANodes() = %v, want %v", got, nodes)
	}
	if got := topo.Sockets(); got != sockets {
		t.Errorf("Sockets() = %d, want %d", got, sockets)
	}
	if topo.Quota != quota {
		t.Errorf("Quota = %v, want %v", topo.Quota, quota)
	}
	if got := topo.Usable(); got != usable {
		t.Errorf("Usable() = %d, want %d", got, usable)
	}
}

func TestReadCPUFields(t *testing.T) {
	topo, err := Read(writeTree(t, machine(2, 4, 2, true)))
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.CPUs) != 16 || !reflect.DeepEqual(topo.Allowed, span(0, 15)) {
		t.Fatalf("CPUs %d, Allowed %v; want 16 and 0-15", len(topo.CPUs), topo.Allowed)
	}
	// CPU 13: second thread of core 1 on socket 1.
	want := CPU{ID: 13, Core: 1, Socket: 1, NUMANode: 1, Siblings: []int{5, 13}}
	if got := topo.CPUs[13]; !reflect.DeepEqual(got, want) {
		t.Errorf("CPU 13 = %+v, want %+v", got, want)
	}
}

func TestReadDegradesGracefully(t *testing.T) {
	tests := []struct {
		name  string
		fs    files
		cpus  []CPU
		allow []int
	}{
		{
			name: "only the online list",
			fs:   files{cpuDir + "/online": "0-2\n"},
			cpus: []CPU{{ID: 0, Siblings: []int{0}}, {ID: 1, Core: 1, Siblings: []int{1}}, {ID: 2, Core: 2, Siblings: []int{2}}},
		},
		{
			name: "no online list: cpuN directories",
			fs: files{
				cpuDir + "/cpu0/topology/core_id": "0", cpuDir + "/cpu1/uevent": "",
				cpuDir + "/cpufreq/x": "", cpuDir + "/cpuidle/x": "",
			},
			cpus: []CPU{{ID: 0, Siblings: []int{0}}, {ID: 1, Core: 1, Siblings: []int{1}}},
		},
		{
			name: "an offline CPU in the middle",
			fs:   machine(1, 4, 1, false).with(files{cpuDir + "/online": "0-1,3\n"}),
			cpus: []CPU{{ID: 0, Siblings: []int{0}}, {ID: 1, Core: 1, Siblings: []int{1}}, {ID: 3, Core: 3, Siblings: []int{3}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topo, err := Read(writeTree(t, tt.fs))
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if !reflect.DeepEqual(topo.CPUs, tt.cpus) {
				t.Errorf("CPUs = %+v, want %+v", topo.CPUs, tt.cpus)
			}
			if topo.Quota != 0 {
				t.Errorf("Quota = %v, want 0", topo.Quota)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name string
		fs   files
	}{
		{"empty tree", files{"etc/hostname": "x"}},
		{"malformed online", files{cpuDir + "/online": "0-x\n"}},
		{"malformed core_id", machine(1, 2, 1, false).with(files{cpuDir + "/cpu1/topology/core_id": "one"})},
		{"malformed node cpulist", machine(1, 2, 1, false).with(files{nodeDir + "/node0/cpulist": "z"})},
		{"malformed cpu.max", machine(1, 2, 1, false).with(cgroupV2).with(files{cgroupMount + "/cpu.max": "lots"})},
		{"zero period", machine(1, 2, 1, false).with(cgroupV2).with(files{cgroupMount + "/cpu.max": "100 0"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if topo, err := Read(writeTree(t, tt.fs)); err == nil {
				t.Errorf("Read succeeded: %+v", topo)
			}
		})
	}
}

func TestReadHostWithoutSysfs(t *testing.T) {
	root := writeTree(t, cgroupV2.with(files{cgroupMount + "/cpu.max": "50000 100000"}))
	topo, err := readHost(root, []int{4, 5})
	if err != nil {
		t.Fatal(err)
	}
	checkTopology(t, topo, [][]int{{4}, {5}}, map[int][]int{0: {4, 5}}, 1, 0.5, 1)
	if _, err := readHost(writeTree(t, files{cpuDir + "/online": "junk"}), []int{0}); errors.Is(err, errNoCPU) || err == nil {
		t.Errorf("a malformed tree gave %v, want its parse error", err)
	}
}
