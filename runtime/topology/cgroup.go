package topology

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const cgroupMount = "sys/fs/cgroup"

// defaultCFSPeriod is the kernel's default cpu.cfs_period_us.
const defaultCFSPeriod = 100000

// readQuota returns the tightest CPU limit, in CPUs, set on the calling
// process's cgroup or any of its ancestors; 0 when there is none. It reads
// cgroup v2 cpu.max when /sys/fs/cgroup is a v2 mount, else the v1 cpu
// controller's cpu.cfs_quota_us and cpu.cfs_period_us.
func readQuota(root string) (float64, error) {
	mount := filepath.Join(root, cgroupMount)
	v2path, v1path, err := selfCgroup(root)
	if err != nil {
		return 0, err
	}
	if exists(filepath.Join(mount, "cgroup.controllers")) {
		return tightest(mount, v2path, readCPUMax)
	}
	for _, name := range []string{"cpu", "cpu,cpuacct", "cpuacct,cpu"} {
		if dir := filepath.Join(mount, name); exists(dir) {
			return tightest(dir, v1path, readCFS)
		}
	}
	return 0, nil
}

// selfCgroup returns the process's cgroup path in the v2 hierarchy and in
// the v1 cpu hierarchy, from /proc/self/cgroup; "/" when it is unknown.
func selfCgroup(root string) (v2, v1 string, err error) {
	v2, v1 = "/", "/"
	b, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if errors.Is(err, os.ErrNotExist) {
		return v2, v1, nil
	}
	if err != nil {
		return "", "", fmt.Errorf("topology: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		fields := strings.SplitN(sc.Text(), ":", 3)
		switch {
		case len(fields) != 3:
		case fields[0] == "0" && fields[1] == "":
			v2 = fields[2]
		case slices.Contains(strings.Split(fields[1], ","), "cpu"):
			v1 = fields[2]
		}
	}
	return v2, v1, nil
}

// tightest applies read to the cgroup directory mount+path and each of its
// ancestors up to mount, and returns the smallest limit found; 0 for none.
// Directories that are not visible (a container without its own cgroup
// namespace) are skipped.
func tightest(mount, path string, read func(dir string) (float64, error)) (float64, error) {
	dir := filepath.Join(mount, path)
	if !strings.HasPrefix(dir, mount) {
		dir = mount
	}
	limit := 0.0
	for {
		q, err := read(dir)
		if err != nil {
			return 0, err
		}
		if q > 0 && (limit == 0 || q < limit) {
			limit = q
		}
		if dir == mount {
			return limit, nil
		}
		dir = filepath.Dir(dir)
	}
}

// readCPUMax reads cgroup v2 cpu.max: "max 100000" or "150000 100000".
func readCPUMax(dir string) (float64, error) {
	path := filepath.Join(dir, "cpu.max")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("topology: %w", err)
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 || len(fields) > 2 {
		return 0, fmt.Errorf("topology: %s: malformed %q", path, b)
	}
	if fields[0] == "max" {
		return 0, nil
	}
	period := strconv.Itoa(defaultCFSPeriod)
	if len(fields) == 2 {
		period = fields[1]
	}
	return ratio(path, fields[0], period)
}

// readCFS reads cgroup v1 cpu.cfs_quota_us ("-1" when unlimited) and
// cpu.cfs_period_us.
func readCFS(dir string) (float64, error) {
	quota, err := readTrimmed(filepath.Join(dir, "cpu.cfs_quota_us"))
	if err != nil || quota == "" || strings.HasPrefix(quota, "-") {
		return 0, err
	}
	period, err := readTrimmed(filepath.Join(dir, "cpu.cfs_period_us"))
	if err != nil {
		return 0, err
	}
	if period == "" {
		period = strconv.Itoa(defaultCFSPeriod)
	}
	return ratio(filepath.Join(dir, "cpu.cfs_quota_us"), quota, period)
}

// readTrimmed returns the content of path without surrounding space, or
// "" when it does not exist.
func readTrimmed(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("topology: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// ratio returns quota/period, both in microseconds.
func ratio(path, quota, period string) (float64, error) {
	q, err1 := strconv.ParseUint(quota, 10, 64)
	p, err2 := strconv.ParseUint(period, 10, 64)
	if err1 != nil || err2 != nil || p == 0 {
		return 0, fmt.Errorf("topology: %s: malformed quota %q period %q", path, quota, period)
	}
	return float64(q) / float64(p), nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
