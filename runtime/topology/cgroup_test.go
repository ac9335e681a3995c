package topology

import "testing"

func TestReadQuota(t *testing.T) {
	const v1 = cgroupMount + "/cpu,cpuacct"
	tests := []struct {
		name string
		fs   files
		want float64
	}{
		{"no cgroup filesystem", files{}, 0},
		{"v2 root without cpu.max", cgroupV2, 0},
		{"v2 two CPUs", cgroupV2.with(files{cgroupMount + "/cpu.max": "200000 100000\n"}), 2},
		{"v2 max", cgroupV2.with(files{cgroupMount + "/cpu.max": "max 100000\n"}), 0},
		{"v2 quota without period", cgroupV2.with(files{cgroupMount + "/cpu.max": "50000"}), 0.5},
		{"v2 own cgroup", cgroupV2.with(files{
			"proc/self/cgroup":                         "0::/kubepods/pod1/ctr\n",
			cgroupMount + "/kubepods/pod1/ctr/cpu.max": "150000 100000\n",
			cgroupMount + "/kubepods/cpu.max":          "max 100000\n",
		}), 1.5},
		{"v2 parent tighter than own cgroup", cgroupV2.with(files{
			"proc/self/cgroup":                         "0::/kubepods/pod1/ctr\n",
			cgroupMount + "/kubepods/pod1/ctr/cpu.max": "400000 100000\n",
			cgroupMount + "/kubepods/pod1/cpu.max":     "100000 100000\n",
		}), 1},
		{"v2 own cgroup not visible: mount root counts", cgroupV2.with(files{
			"proc/self/cgroup":       "0::/system.slice/docker-abc.scope\n",
			cgroupMount + "/cpu.max": "300000 100000\n",
		}), 3},
		{"v2 path escaping the mount", cgroupV2.with(files{
			"proc/self/cgroup":       "0::/../../../etc\n",
			cgroupMount + "/cpu.max": "100000 100000\n",
		}), 1},
		{"v1 quota", files{
			v1 + "/cpu.cfs_quota_us":  "50000\n",
			v1 + "/cpu.cfs_period_us": "100000\n",
		}, 0.5},
		{"v1 unlimited", files{
			v1 + "/cpu.cfs_quota_us":  "-1\n",
			v1 + "/cpu.cfs_period_us": "100000\n",
		}, 0},
		{"v1 own cgroup", files{
			"proc/self/cgroup":                   "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n",
			v1 + "/docker/abc/cpu.cfs_quota_us":  "400000\n",
			v1 + "/docker/abc/cpu.cfs_period_us": "200000\n",
		}, 2},
		{"v1 plain cpu mount", files{
			cgroupMount + "/cpu/cpu.cfs_quota_us": "300000\n",
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readQuota(writeTree(t, tt.fs))
			if err != nil {
				t.Fatalf("readQuota: %v", err)
			}
			if got != tt.want {
				t.Errorf("readQuota = %v, want %v", got, tt.want)
			}
		})
	}
}
