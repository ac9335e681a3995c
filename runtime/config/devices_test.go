package config

import (
	"strings"
	"testing"
	"time"
)

func TestDeviceFileApply(t *testing.T) {
	f, err := LoadDevices(writeConfig(t, `
cpu:
  count: 4
  batching: {max_queue_delay: 0s, preferred_batch_sizes: [32]}
gpu:
  count: 2
  max_batch_size: 128
  batching: {max_queue_delay: 500us}
  gpu_mem_limit: 6GiB
models:
  mlp-large:
    cpu: {count: 1, batching: {mode: adaptive}}
  big:
    gpu: {gpu_mem_limit: 20GiB}
`))
	if err != nil {
		t.Fatal(err)
	}
	cpuHost := func(k string) string {
		if k == KindGPU {
			return KindGPU
		}
		return KindCPU
	}
	var small Model // no config.yaml at all
	f.Apply("mlp-small", &small, cpuHost)
	if small.InstanceGroups[0].Count != 4 || !small.Batching.MaxQueueDelay.Set || small.Batching.MaxQueueDelay.D() != 0 ||
		len(small.Batching.PreferredBatchSizes) != 1 {
		t.Fatalf("cpu class not applied: %+v", small)
	}
	large := Model{Batching: Batching{Timeout: Duration(time.Second)}}
	f.Apply("mlp-large", &large, cpuHost)
	if large.InstanceGroups[0].Count != 1 || large.Batching.Mode != BatchAdaptive || large.Batching.Timeout.D() != time.Second ||
		large.Batching.PreferredBatchSizes[0] != 32 {
		t.Fatalf("model entry not merged over the class: %+v", large)
	}
	gpuModel := Model{InstanceGroups: []InstanceGroup{{Kind: KindAuto, Count: 1}}}
	f.Apply("cnn", &gpuModel, func(string) string { return KindGPU })
	if gpuModel.InstanceGroups[0].Count != 2 || *gpuModel.MaxBatchSize != 128 || gpuModel.Batching.MaxQueueDelay.D() != 500*time.Microsecond {
		t.Fatalf("gpu class not applied: %+v", gpuModel)
	}
	if got := gpuModel.InstanceGroups[0].GPUMemLimit; got != 6<<30 {
		t.Fatalf("gpu class gpu_mem_limit: %v, want 6GiB", got)
	}
	big := Model{InstanceGroups: []InstanceGroup{{Kind: KindGPU}}}
	f.Apply("big", &big, cpuHost)
	if got := big.InstanceGroups[0].GPUMemLimit; got != 20<<30 || big.InstanceGroups[0].Count != 2 {
		t.Fatalf("a model's own gpu_mem_limit over the class's: %+v", big.InstanceGroups[0])
	}
	if got := small.InstanceGroups[0].GPUMemLimit; got != 0 {
		t.Fatalf("a cpu group got gpu_mem_limit %v", got)
	}
}

func TestDeviceFileErrors(t *testing.T) {
	for _, tt := range []struct{ text, want string }{
		{"cpu:\n  count: -1\n", "cpu.count: must be >= 1"},
		{"gpu:\n  batching: {mode: eager}\n", "gpu.batching.mode: unknown mode"},
		{"models:\n  m:\n    tpu: {count: 1}\n", `models.m: unknown device class "tpu"`},
		{"cpu:\n  cores: lots\n", "cpu.cores"},
		{"npu: {}\n", "unknown field npu"},
		{"cpu:\n  gpu_mem_limit: 1GiB\n", "cpu.gpu_mem_limit: is for the gpu class only"},
		{"gpu:\n  gpu_mem_limit: 1KiB\n", "gpu.gpu_mem_limit: must be at least 64MiB"},
		{"models:\n  m:\n    cpu: {gpu_mem_limit: 1GiB}\n", "models.m.cpu.gpu_mem_limit: is for the gpu class only"},
	} {
		p := writeConfig(t, tt.text)
		_, err := LoadDevices(p)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%q: err %v, want it to name the file and %q", tt.text, err, tt.want)
		}
	}
}
