// Package topology reads the host's CPU topology and the CPUs this process
// may run on.
//
// It reads /sys (online CPUs, cores, SMT siblings, sockets, NUMA nodes),
// the process's CPU affinity mask and its cgroup CPU quota (cgroup v2
// cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us), and reports them
// as a Topology. It makes no placement decisions: which worker is pinned
// to which CPUs is decided by the callers that consume a Topology.
//
// It is pure Go (no cgo). Read takes a filesystem root so tests can point
// it at a fake sysfs tree; ReadHost reads the real host.
package topology
