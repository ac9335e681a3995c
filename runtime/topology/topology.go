package topology

import (
	"log/slog"
	"maps"
	"math"
	"slices"
)

// CPU is one logical CPU (a hardware thread).
type CPU struct {
	// ID is the kernel's CPU number.
	ID int
	// Core is the kernel's core_id: unique only within its Socket.
	Core int
	// Socket is the physical package.
	Socket int
	// NUMANode is the memory node the CPU belongs to.
	NUMANode int
	// Siblings are the hardware threads of the same core, ID included,
	// sorted; just {ID} without SMT.
	Siblings []int
}

// Topology is the host's CPUs and the part of them this process may use.
type Topology struct {
	// CPUs are the online CPUs, sorted by ID.
	CPUs []CPU
	// Allowed are the IDs of the online CPUs this process may run on (its
	// affinity mask), sorted.
	Allowed []int
	// Quota is the number of CPUs' worth of time the cgroup cpu limit
	// allows (cpu.max "150000 100000" is 1.5); 0 means unlimited.
	Quota float64
}

// Cores returns the allowed CPUs grouped by physical core: each group
// holds the SMT siblings of one core that the process may run on. Groups
// and the CPUs in them are sorted.
func (t Topology) Cores() [][]int {
	allowed := t.allowedSet()
	seen := make(map[int]bool)
	var cores [][]int
	for _, c := range t.CPUs {
		if !allowed[c.ID] || seen[c.ID] {
			continue
		}
		group := []int{c.ID}
		for _, s := range c.Siblings {
			if s != c.ID && allowed[s] {
				group = append(group, s)
			}
		}
		slices.Sort(group)
		for _, id := range group {
			seen[id] = true
		}
		cores = append(cores, group)
	}
	slices.SortFunc(cores, func(a, b []int) int { return a[0] - b[0] })
	return cores
}

// NUMANodes returns the allowed CPUs of each NUMA node, sorted. Nodes
// without an allowed CPU are left out.
func (t Topology) NUMANodes() map[int][]int {
	allowed := t.allowedSet()
	nodes := make(map[int][]int)
	for _, c := range t.CPUs {
		if allowed[c.ID] {
			nodes[c.NUMANode] = append(nodes[c.NUMANode], c.ID)
		}
	}
	return nodes
}

// Usable returns how many CPUs the process can really keep busy: the
// allowed CPUs, capped by the cgroup quota rounded up.
func (t Topology) Usable() int {
	n := len(t.Allowed)
	if t.Quota > 0 {
		n = min(n, int(math.Ceil(t.Quota)))
	}
	return n
}

// Sockets returns the number of distinct sockets among the online CPUs.
func (t Topology) Sockets() int {
	sockets := make(map[int]bool)
	for _, c := range t.CPUs {
		sockets[c.Socket] = true
	}
	return len(sockets)
}

// LogValue implements slog.LogValuer.
func (t Topology) LogValue() slog.Value {
	nodes := t.NUMANodes()
	return slog.GroupValue(
		slog.Int("online", len(t.CPUs)),
		slog.String("allowed", FormatCPUList(t.Allowed)),
		slog.Int("cores", len(t.Cores())),
		slog.Int("sockets", t.Sockets()),
		slog.Any("numa_nodes", slices.Sorted(maps.Keys(nodes))),
		slog.Float64("quota", t.Quota),
		slog.Int("usable", t.Usable()),
	)
}

func (t Topology) allowedSet() map[int]bool {
	set := make(map[int]bool, len(t.Allowed))
	for _, id := range t.Allowed {
		set[id] = true
	}
	return set
}

// uniform returns a topology of ids with no knowledge beyond them: each
// CPU is its own core on socket 0 and NUMA node 0, and all are allowed.
func uniform(ids []int) Topology {
	t := Topology{Allowed: slices.Clone(ids)}
	for _, id := range ids {
		t.CPUs = append(t.CPUs, CPU{ID: id, Core: id, Siblings: []int{id}})
	}
	return t
}

// restrict returns the elements of ids that are also in keep, in order.
func restrict(ids, keep []int) []int {
	set := make(map[int]bool, len(keep))
	for _, id := range keep {
		set[id] = true
	}
	var out []int
	for _, id := range ids {
		if set[id] {
			out = append(out, id)
		}
	}
	return out
}
