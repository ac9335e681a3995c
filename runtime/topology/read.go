package topology

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const (
	cpuDir  = "sys/devices/system/cpu"
	nodeDir = "sys/devices/system/node"
)

// errNoCPU says that a tree has no CPU information at all.
var errNoCPU = errors.New("topology: no CPU found")

// Read reads the CPU topology under root ("/" for the host; a fake tree in
// tests): the online CPUs, each one's core, socket and SMT siblings, the
// NUMA nodes and the cgroup CPU quota of the calling process. Allowed is
// every online CPU: the affinity mask is the process's, not the tree's
// (see ReadHost).
//
// Missing files degrade gracefully: without a topology directory a CPU is
// its own core on socket 0, without NUMA information every CPU is on node
// 0, and without a cgroup limit Quota is 0. Read fails only when it finds
// no CPU at all, or when a file it needs is present but malformed.
func Read(root string) (Topology, error) {
	ids, err := onlineCPUs(root)
	if err != nil {
		return Topology{}, err
	}
	nodes, err := numaNodes(root)
	if err != nil {
		return Topology{}, err
	}
	t := Topology{Allowed: ids}
	for _, id := range ids {
		c, err := readCPU(root, id)
		if err != nil {
			return Topology{}, err
		}
		c.NUMANode = nodes[id]
		t.CPUs = append(t.CPUs, c)
	}
	t.Quota, err = readQuota(root)
	if err != nil {
		return Topology{}, err
	}
	return t, nil
}

// readHost reads the topology under root and narrows Allowed to the CPUs
// of the affinity mask. Without any CPU information under root (no /sys)
// the affinity mask's CPUs make the topology, each its own core on node 0.
func readHost(root string, affinity []int) (Topology, error) {
	t, err := Read(root)
	if errors.Is(err, errNoCPU) {
		t = uniform(affinity)
		t.Quota, err = readQuota(root)
	}
	if err != nil {
		return Topology{}, err
	}
	t.Allowed = restrict(t.Allowed, affinity)
	return t, nil
}

// onlineCPUs reads the online CPU list, or lists the cpuN directories when
// there is none.
func onlineCPUs(root string) ([]int, error) {
	ids, err := readCPUList(filepath.Join(root, cpuDir, "online"))
	if err == nil && len(ids) > 0 {
		return ids, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ids, err = numberedDirs(filepath.Join(root, cpuDir), "cpu")
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w under %s", errNoCPU, filepath.Join(root, cpuDir))
	}
	return ids, nil
}

// readCPU reads one CPU's topology directory.
func readCPU(root string, id int) (CPU, error) {
	dir := filepath.Join(root, cpuDir, "cpu"+strconv.Itoa(id), "topology")
	c := CPU{ID: id, Core: id, Siblings: []int{id}}
	var err error
	if c.Core, err = readIntOr(filepath.Join(dir, "core_id"), id); err != nil {
		return CPU{}, err
	}
	if c.Socket, err = readIntOr(filepath.Join(dir, "physical_package_id"), 0); err != nil {
		return CPU{}, err
	}
	sibs, err := readCPUList(filepath.Join(dir, "thread_siblings_list"))
	switch {
	case err == nil && slices.Contains(sibs, id):
		c.Siblings = sibs
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return CPU{}, err
	}
	return c, nil
}

// numaNodes maps each CPU to its NUMA node; CPUs it does not list are on
// node 0.
func numaNodes(root string) (map[int]int, error) {
	dir := filepath.Join(root, nodeDir)
	nodes, err := numberedDirs(dir, "node")
	if err != nil {
		return nil, err
	}
	cpuNode := make(map[int]int)
	for _, n := range nodes {
		cpus, err := readCPUList(filepath.Join(dir, "node"+strconv.Itoa(n), "cpulist"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, c := range cpus {
			cpuNode[c] = n
		}
	}
	return cpuNode, nil
}

// numberedDirs returns N for every directory entry named prefixN, sorted;
// none when dir does not exist.
func numberedDirs(dir, prefix string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("topology: %w", err)
	}
	var ids []int
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if n, err := strconv.Atoi(rest); ok && err == nil && n >= 0 && rest == strconv.Itoa(n) {
			ids = append(ids, n)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// readCPUList reads a file in cpulist format. A missing file is reported
// as an error wrapping os.ErrNotExist.
func readCPUList(path string) ([]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("topology: %w", err)
	}
	ids, err := ParseCPUList(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ids, nil
}

// readIntOr reads a file holding one integer, or returns def when the
// file does not exist.
func readIntOr(path string, def int) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return def, nil
	}
	if err != nil {
		return 0, fmt.Errorf("topology: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("topology: %s: %w", path, err)
	}
	return n, nil
}
