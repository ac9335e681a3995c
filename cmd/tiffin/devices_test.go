package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/gpu"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

func TestDevicesCommandJSON(t *testing.T) {
	repo := demoRepo(t)
	var out, errOut bytes.Buffer
	if code := run([]string{"devices", "--json", "--model-repository", repo}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var rep struct {
		CPU struct {
			Usable int     `json:"usable"`
			Cores  [][]int `json:"cores"`
		} `json:"cpu"`
		GPUs      []any `json:"gpus"`
		Placement []struct {
			Model string `json:"model"`
			Kind  string `json:"kind"`
			Cores string `json:"cores"`
		} `json:"placement"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if rep.CPU.Usable < 1 || len(rep.CPU.Cores) < 1 || rep.GPUs == nil || len(rep.Placement) != 4 {
		t.Fatalf("report: %s", out.String())
	}
	for _, p := range rep.Placement {
		if p.Kind != "cpu" || p.Cores == "" {
			t.Fatalf("placement row %+v", p)
		}
	}
}

// TestDevicesTableWithGPUs prints an inventory with GPUs as the go-nvml mock
// machines report them; the table names each GPU and each placement.
func TestDevicesTableWithGPUs(t *testing.T) {
	dev := &runtime.Devices{GPU: gpu.Inventory{Driver: "550.54", CUDAVersion: "12.4", Devices: []gpu.Device{
		{Index: 0, UUID: "GPU-aaa", Name: "NVIDIA A100-SXM4-40GB", MemoryTotal: 40 << 30, MemoryFree: 39 << 30, ComputeMajor: 8},
		{Index: 1, UUID: "GPU-bbb", Name: "NVIDIA A100-SXM4-40GB", MemoryTotal: 40 << 30, MemoryFree: 40 << 30, ComputeMajor: 8, MIGEnabled: true},
	}}}
	rep := newDevicesReport(dev)
	inv := runtime.Inventory{Cores: [][]int{{0}, {1}}, Nodes: []int{0, 0}, GPUs: []int{0, 1}}
	plans, _, err := runtime.Place(inv, []runtime.GroupRequest{{Model: "m/1", InstanceGroup: gpuGroup(1)}})
	if err != nil {
		t.Fatal(err)
	}
	rep.Placement = placementRows(plans)
	var out bytes.Buffer
	printDevices(&out, rep)
	for _, want := range []string{"driver 550.54, CUDA 12.4", "GPU-aaa", "GPU-bbb", "8.0", "m/1", "gpu0", "gpu1"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func gpuGroup(count int) config.InstanceGroup {
	return config.InstanceGroup{Kind: config.KindGPU, Count: count}
}

// --devices is read, and a missing or bad file refused, even without
// --model-repository: before, it was silently ignored and the exit was 0.
func TestDevicesCommandChecksTheDeviceFileAlone(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"devices", "--devices", t.TempDir() + "/missing.yaml"}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "missing.yaml") {
		t.Fatalf("exit %d, stderr %q: want 1 naming the file", code, errOut.String())
	}
}
