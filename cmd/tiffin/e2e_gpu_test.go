package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends/onnx/onnxtest"
	"github.com/tiffin-ml/tiffin/gpu"
)

// TestE2EGPUBuildOnCPUHost serves the demo repository with the CUDA-enabled
// ONNX Runtime (make ort-gpu) on a host without a GPU, beside the CPU
// build: the CPU models answer as the CPU build's do, a kind: gpu model is
// UNAVAILABLE naming the missing GPU, and kind: auto serves on the CPU
// after one log line. On a GPU host bench/gpu/check.sh does the checking.
func TestE2EGPUBuildOnCPUHost(t *testing.T) {
	requireORT(t)
	gpuLib := onnxtest.GPULibraryPath(t)
	if inv := gpu.DiscoverHost(slog.New(slog.DiscardHandler)); len(inv.Devices) > 0 {
		t.Skipf("this host has %d GPUs: bench/gpu/check.sh checks the GPU build here", len(inv.Devices))
	}
	repo := demoRepo(t)
	addModel(t, repo, "cnn", "cnn-gpu", "instance_groups:\n  - kind: gpu\n")
	addModel(t, repo, "mlp-small", "mlp-auto", "instance_groups:\n  - kind: auto\n    gpu_mem_limit: 256MiB\n")
	bin := buildTiffin(t)
	cpu := startTiffin(t, bin, repo, "--jobs=false")
	withGPU := startTiffin(t, bin, repo, "--jobs=false", "--ort-library", gpuLib)

	for _, model := range []string{"mlp-small", "mlp-large", "cnn", "multi-io", "mlp-auto"} {
		req := requestFor(t, cpu.base, model)
		want, got := inferRaw(t, cpu.base, model, req), inferRaw(t, withGPU.base, model, req)
		sameOutputs(t, model, got, want)
	}

	r := get(t, withGPU.base+"/v2/models/cnn-gpu/ready")
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "no GPU that NVML can see") {
		t.Fatalf("kind gpu without a GPU: %d %s, want 503 naming the missing GPU", r.status, r.body)
	}
	if n := strings.Count(withGPU.out.String(), "kind auto"); n != 1 {
		t.Fatalf("the server logged %d lines about kind auto, want 1:\n%s", n, withGPU.out.String())
	}
	if !strings.Contains(withGPU.out.String(), "library="+gpuLib) {
		t.Fatalf("the server did not log the GPU library it loaded:\n%s", withGPU.out.String())
	}
}

// addModel copies model's version 1 into a new model with this config.
func addModel(t *testing.T, repo, from, name, config string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, from, "1", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(repo, name, "1", "model.onnx"), b)
	writeFile(t, filepath.Join(repo, name, "config.yaml"), []byte(config))
}

// requestFor builds a JSON request of two rows (or the fixed shape) for
// every input the model's metadata lists, with varied values.
func requestFor(t *testing.T, base, model string) []byte {
	t.Helper()
	body := get(t, base+"/v2/models/"+model).body
	var meta struct {
		Inputs []struct {
			Name     string  `json:"name"`
			Datatype string  `json:"datatype"`
			Shape    []int64 `json:"shape"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal(body, &meta); err != nil || len(meta.Inputs) == 0 {
		t.Fatalf("%s metadata: %v %s", model, err, body)
	}
	var inputs []map[string]any
	for i, in := range meta.Inputs {
		n := int64(1)
		shape := make([]int64, len(in.Shape))
		for j, d := range in.Shape {
			shape[j] = d
			if d < 0 {
				shape[j] = 2 // two rows on a dynamic axis
			}
			n *= shape[j]
		}
		data := make([]any, n)
		for k := range data {
			v := math.Sin(float64(k*7+i)) * 3
			if in.Datatype == "INT32" || in.Datatype == "INT64" {
				data[k] = int(v * 10)
			} else {
				data[k] = v
			}
		}
		inputs = append(inputs, map[string]any{"name": in.Name, "datatype": in.Datatype, "shape": shape, "data": data})
	}
	b, err := json.Marshal(map[string]any{"inputs": inputs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func inferRaw(t *testing.T, base, model string, req []byte) v2Response {
	t.Helper()
	r, err := http.Post(base+"/v2/models/"+model+"/infer", "application/json", strings.NewReader(string(req)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode != 200 {
		t.Fatalf("%s on %s: %d %s", model, base, r.StatusCode, b)
	}
	return decodeV2(t, b)
}

// sameOutputs compares two responses output by output: numbers within
// 1e-5 (relative), anything else equal.
func sameOutputs(t *testing.T, model string, got, want v2Response) {
	t.Helper()
	if len(got.Outputs) != len(want.Outputs) {
		t.Fatalf("%s: %d outputs, the CPU build gives %d", model, len(got.Outputs), len(want.Outputs))
	}
	for i, w := range want.Outputs {
		g := got.Outputs[i]
		if g.Name != w.Name || g.Datatype != w.Datatype || fmt.Sprint(g.Shape) != fmt.Sprint(w.Shape) || len(g.Data) != len(w.Data) {
			t.Fatalf("%s output %d: %s %s %v (%d values), the CPU build gives %s %s %v (%d)", model, i,
				g.Name, g.Datatype, g.Shape, len(g.Data), w.Name, w.Datatype, w.Shape, len(w.Data))
		}
		for k := range w.Data {
			var a, b float64
			if json.Unmarshal(g.Data[k], &a) != nil || json.Unmarshal(w.Data[k], &b) != nil {
				if string(g.Data[k]) != string(w.Data[k]) {
					t.Fatalf("%s %s[%d] = %s, the CPU build gives %s", model, w.Name, k, g.Data[k], w.Data[k])
				}
				continue
			}
			if math.Abs(a-b) > 1e-5*max(1, math.Abs(b)) {
				t.Fatalf("%s %s[%d] = %v, the CPU build gives %v", model, w.Name, k, a, b)
			}
		}
	}
}
