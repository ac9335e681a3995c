package topology

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// maxCPUID bounds the CPU numbers ParseCPUList accepts, so that a corrupt
// range cannot allocate unbounded memory. Linux's NR_CPUS is at most 8192.
const maxCPUID = 1 << 16

// ParseCPUList parses the kernel's cpulist format, as in
// /sys/devices/system/cpu/online: comma-separated CPU numbers and
// inclusive ranges, e.g. "0-3,8,10-11". Surrounding white space (the
// trailing newline of a sysfs file) is ignored and an empty list is
// valid. The result is sorted and free of duplicates.
func ParseCPUList(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var cpus []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, err := parseRange(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("topology: cpulist %q: %w", s, err)
		}
		for c := lo; c <= hi; c++ {
			cpus = append(cpus, c)
		}
	}
	slices.Sort(cpus)
	return slices.Compact(cpus), nil
}

// parseRange parses "N" or "N-M".
func parseRange(part string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(part, "-")
	if lo, err = parseCPU(a); err != nil {
		return 0, 0, err
	}
	if !isRange {
		return lo, lo, nil
	}
	if hi, err = parseCPU(b); err != nil {
		return 0, 0, err
	}
	if hi < lo {
		return 0, 0, fmt.Errorf("range %q is reversed", part)
	}
	return lo, hi, nil
}

func parseCPU(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("%q is not a CPU number", s)
	}
	if n > maxCPUID {
		return 0, fmt.Errorf("CPU %d is beyond %d", n, maxCPUID)
	}
	return n, nil
}

// FormatCPUList writes cpus in the kernel's cpulist format, e.g.
// "0-3,8,10-11". cpus need not be sorted.
func FormatCPUList(cpus []int) string {
	sorted := slices.Compact(slices.Sorted(slices.Values(cpus)))
	var b strings.Builder
	for i := 0; i < len(sorted); {
		j := i
		for j+1 < len(sorted) && sorted[j+1] == sorted[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(sorted[i]))
		if j > i {
			b.WriteString("-" + strconv.Itoa(sorted[j]))
		}
		i = j + 1
	}
	return b.String()
}
