package config

import "testing"

func TestParseByteSize(t *testing.T) {
	good := map[string]ByteSize{
		"0": 0, "1048576": 1 << 20, "512MiB": 512 << 20, "2GiB": 2 << 30, "2 GiB": 2 << 30,
		"1.5GiB": 3 << 29, "1GB": 1e9, "3KB": 3000, "4KiB": 4096, "1TiB": 1 << 40, "100B": 100,
	}
	for in, want := range good {
		if got, err := ParseByteSize(in); err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-1GiB", "1XB", "GiB", "NaN", "1e30TiB"} {
		if got, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestByteSizeString(t *testing.T) {
	for b, want := range map[ByteSize]string{0: "0B", 100: "100B", 4096: "4KiB", 1536 << 20: "1536MiB", 2 << 30: "2GiB", 1 << 40: "1TiB"} {
		if got := b.String(); got != want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", uint64(b), got, want)
		}
	}
}

func TestGPUMemLimitFromYAML(t *testing.T) {
	m, err := LoadModel(writeConfig(t, "instance_groups:\n  - kind: gpu\n    count: 2\n    gpu_mem_limit: 3GiB\n  - kind: auto\n    gpu_mem_limit: 268435456\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.InstanceGroups[0].GPUMemLimit; got != 3<<30 {
		t.Errorf("gpu group limit = %v, want 3GiB", got)
	}
	if got := m.InstanceGroups[1].GPUMemLimit; got != 256<<20 {
		t.Errorf("auto group limit = %v, want 256MiB", got)
	}
}
