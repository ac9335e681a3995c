//go:build cgo

package onnx

import (
	"context"
	"maps"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
)

func TestCUDAOptions(t *testing.T) {
	spec := backends.LoadSpec{Device: backends.Device{Kind: backends.GPU, GPU: 3}}
	want := map[string]string{"device_id": "3", "arena_extend_strategy": "kSameAsRequested",
		"has_user_compute_stream": "0", "do_copy_in_default_stream": "1"}
	if got := cudaOptions(spec); !maps.Equal(got, want) {
		t.Errorf("no limit: %v, want %v", got, want)
	}
	spec.GPUMemLimit = 3 << 30
	want["gpu_mem_limit"] = "3221225472"
	if got := cudaOptions(spec); !maps.Equal(got, want) {
		t.Errorf("3GiB limit: %v, want %v", got, want)
	}
}

// missingCUDA matches what ONNX Runtime says when the CUDA provider cannot
// run on this host: a CUDA or cuDNN library the loader cannot open, or no
// CUDA device.
var missingCUDA = regexp.MustCompile(`lib(cudart|cublas|cublasLt|curand|cufft|cudnn|cuda)\.so[.0-9]*: cannot open shared object file|CUDA driver version is insufficient|no CUDA-capable device`)

// TestGPUInstance loads a model on GPU 0 with the test library. With the
// CPU-only build, the error says there is no CUDA provider and names "make
// ort-gpu". With a CUDA-enabled build on a host that lacks CUDA or a GPU
// (TIFFIN_ORT_LIBRARY=third_party/onnxruntime/gpu/libonnxruntime.so.1), it
// names the missing library or device. On a GPU host with the CUDA
// libraries, the instance runs and its output matches the CPU's.
func TestGPUInstance(t *testing.T) {
	b := newTestBackend(t)
	path := testModel(t, "example_dynamic_axes.onnx")
	spec := backends.LoadSpec{Model: "m", Version: 1, Path: path, Threads: 1,
		Device: backends.Device{Kind: backends.GPU, GPU: 0}, GPUMemLimit: 256 << 20}
	m, err := b.Load(context.Background(), spec)
	provider := fileExists(filepath.Join(filepath.Dir(loadedLibrary()), CUDAProviderFile))
	switch {
	case !provider:
		if err == nil || !regexp.MustCompile(`has no CUDA provider .*make ort-gpu`).MatchString(err.Error()) {
			t.Fatalf("GPU load with a CPU-only library: %v, want an error saying it has no CUDA provider and naming make ort-gpu", err)
		}
	case err != nil:
		if !missingCUDA.MatchString(err.Error()) {
			t.Fatalf("GPU load with the CUDA provider on a host without CUDA: %v, want an error naming the missing library or device", err)
		}
		t.Logf("no CUDA here, as ONNX Runtime says: %v", err)
	default:
		t.Log("the CUDA provider loaded: running on GPU 0")
		defer m.Close()
		out, err := m.Run(context.Background(), batchOf(3))
		if err != nil {
			t.Fatalf("run on GPU 0: %v", err)
		}
		checkSums(t, out, 3)
	}
}
