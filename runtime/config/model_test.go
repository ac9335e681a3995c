package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadModelFull(t *testing.T) {
	p := writeConfig(t, `
backend: onnxruntime
max_batch_size: 64
instance_groups:
  - kind: cpu
    count: 2
    cores: [0, 1]
batching:
  mode: adaptive
  max_queue_delay: 2ms
  preferred_batch_sizes: [16, 32]
  max_queue_size: 1024
  timeout: 5s
  latency_target: 50ms
version_policy: {latest: 2}
`)
	m, err := LoadModel(p)
	if err != nil {
		t.Fatal(err)
	}
	if m.Backend != "onnxruntime" || *m.MaxBatchSize != 64 || m.InstanceGroups[0].Count != 2 ||
		m.Batching.MaxQueueDelay.D() != 2*time.Millisecond || m.Batching.LatencyTarget.D() != 50*time.Millisecond ||
		m.VersionPolicy.Latest != 2 || len(m.Batching.PreferredBatchSizes) != 2 {
		t.Fatalf("parsed %+v", m)
	}
}

func TestLoadModelMissingAndEmpty(t *testing.T) {
	m, err := LoadModel(filepath.Join(t.TempDir(), "none.yaml"))
	if err != nil || m.MaxBatchSize != nil {
		t.Fatalf("missing file: %+v %v", m, err)
	}
	if _, err := LoadModel(writeConfig(t, "")); err != nil {
		t.Fatalf("empty file: %v", err)
	}
}

func TestLoadModelErrorsNameFileAndField(t *testing.T) {
	tests := []struct{ text, want string }{
		{"max_batch_size: -1\n", "max_batch_size: must be 0 to 2147483647, got -1"},
		{"max_batch_size: 9223372036854775807\n", "max_batch_size: must be 0 to 2147483647"},
		{"batching:\n  max_queue_size: 1073741824\n", "batching.max_queue_size: must be 1 to 65536 (0: the default), got 1073741824"},
		{"instance_groups:\n  - count: 10000\n", "instance_groups[0].count: must be 1 to 256, got 10000"},
		{"batching:\n  max_queue_delay: soon\n", "batching.max_queue_delay: want a duration such as \"2ms\", got \"soon\""},
		{"instance_groups:\n  - count: many\n", "instance_groups[0].count: cannot unmarshal"},
		{"batching:\n  mode: eager\n", "batching.mode: unknown mode \"eager\""},
		{"batching:\n  preferred_batch_sizes: [0]\n", "batching.preferred_batch_sizes"},
		{"instance_groups:\n  - kind: tpu\n", "instance_groups[0].kind: unknown kind \"tpu\""},
		{"max_batch: 3\n", "unknown field max_batch"},
		{"version_policy: {latest: 1, all: true}\n", "version_policy: set only one"},
		{"version_policy: {specific: [0]}\n", "version_policy.specific"},
		{"instance_groups:\n  - kind: gpu\n    gpu_mem_limit: lots\n", "instance_groups[0].gpu_mem_limit: want a size such as \"2GiB\""},
		{"instance_groups:\n  - kind: gpu\n    gpu_mem_limit: [1]\n", "instance_groups[0].gpu_mem_limit: want a size such as \"2GiB\", got a list"},
		{"instance_groups:\n  - kind: gpu\n    gpu_mem_limit: 1MiB\n", "instance_groups[0].gpu_mem_limit: must be at least 64MiB, got 1MiB"},
		{"instance_groups:\n  - kind: cpu\n    gpu_mem_limit: 1GiB\n", "instance_groups[0].gpu_mem_limit: is for kind gpu or auto only"},
		{"instance_groups:\n  - gpu_mem_limit: 1GiB\n", "instance_groups[0].gpu_mem_limit: is for kind gpu or auto only"},
	}
	for _, tt := range tests {
		p := writeConfig(t, tt.text)
		_, err := LoadModel(p)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%q: err %v, want it to name %s and contain %q", tt.text, err, p, tt.want)
		}
	}
}

func TestVersionPolicySelect(t *testing.T) {
	disk := []int64{1, 2, 5}
	for _, tt := range []struct {
		p    VersionPolicy
		want []int64
	}{
		{VersionPolicy{}, []int64{5}},
		{VersionPolicy{Latest: 2}, []int64{2, 5}},
		{VersionPolicy{Latest: 9}, []int64{1, 2, 5}},
		{VersionPolicy{All: true}, []int64{1, 2, 5}},
		{VersionPolicy{Specific: []int64{1, 3}}, []int64{1}},
	} {
		got := tt.p.Select(disk)
		if len(got) != len(tt.want) {
			t.Fatalf("%+v: got %v want %v", tt.p, got, tt.want)
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Fatalf("%+v: got %v want %v", tt.p, got, tt.want)
			}
		}
	}
}

// A config over MaxConfigBytes is refused unread, naming the file; one
// just under it is read (and here, holding many parameters, quickly: the
// ignored fields are a set).
func TestConfigSizeBounded(t *testing.T) {
	big := "#" + strings.Repeat("x", MaxConfigBytes) + "\n"
	p := writeConfig(t, big)
	if _, err := LoadModel(p); err == nil || !strings.Contains(err.Error(), p+": the file is over 1024 KiB") {
		t.Errorf("config.yaml over the bound: %v", err)
	}
	pb := filepath.Join(t.TempDir(), "config.pbtxt")
	if err := os.WriteFile(pb, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTriton(pb); err == nil || !strings.Contains(err.Error(), "the file is over 1024 KiB") {
		t.Errorf("config.pbtxt over the bound: %v", err)
	}
	var params strings.Builder
	for i := 0; params.Len() < MaxConfigBytes-100; i++ {
		fmt.Fprintf(&params, "parameters { key: \"k%d\" value: { string_value: \"v\" } }\n", i)
	}
	if err := os.WriteFile(pb, []byte(params.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadTriton(pb)
	if err != nil || len(m.Ignored) < 10000 {
		t.Fatalf("a config of many parameters: %v, %d ignored", err, len(m.Ignored))
	}
}
