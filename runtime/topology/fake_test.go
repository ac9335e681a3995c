package topology

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// files is a fake filesystem: path relative to the root → content.
type files map[string]string

// writeTree writes fs under a fresh temporary root and returns the root.
func writeTree(t *testing.T, fs files) string {
	t.Helper()
	root := t.TempDir()
	for path, content := range fs {
		full := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// machine returns the sysfs files of sockets × cores × threads CPUs,
// numbered as Linux numbers x86 CPUs: the first thread of every core,
// then the second ones. With numa, each socket is its own NUMA node.
func machine(sockets, cores, threads int, numa bool) files {
	n := sockets * cores * threads
	fs := files{cpuDir + "/online": fmt.Sprintf("0-%d\n", n-1)}
	nodeCPUs := make(map[int][]int)
	for th := range threads {
		for s := range sockets {
			for c := range cores {
				id := (th*sockets+s)*cores + c
				var sibs []string
				for o := range threads {
					sibs = append(sibs, strconv.Itoa((o*sockets+s)*cores+c))
				}
				dir := fmt.Sprintf("%s/cpu%d/topology/", cpuDir, id)
				fs[dir+"core_id"] = strconv.Itoa(c) + "\n"
				fs[dir+"physical_package_id"] = strconv.Itoa(s) + "\n"
				fs[dir+"thread_siblings_list"] = strings.Join(sibs, ",") + "\n"
				nodeCPUs[s] = append(nodeCPUs[s], id)
			}
		}
	}
	if numa {
		for s, ids := range nodeCPUs {
			fs[fmt.Sprintf("%s/node%d/cpulist", nodeDir, s)] = FormatCPUList(ids) + "\n"
		}
	}
	return fs
}

// with returns fs plus extra.
func (fs files) with(extra files) files {
	out := files{}
	for k, v := range fs {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// span returns the integers lo..hi.
func span(lo, hi int) []int {
	var out []int
	for i := lo; i <= hi; i++ {
		out = append(out, i)
	}
	return out
}
