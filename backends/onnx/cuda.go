//go:build cgo

package onnx

import (
	"fmt"
	"path/filepath"
	"strconv"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tiffin-ml/tiffin/backends"
)

// CUDAProviderFile is the CUDA execution provider's library, which a
// CUDA-enabled ONNX Runtime build keeps beside libonnxruntime.so.1.
const CUDAProviderFile = "libonnxruntime_providers_cuda.so"

// cudaOptions are the CUDA provider options of one GPU instance:
//
//   - device_id: the instance's GPU.
//   - gpu_mem_limit: the instance's arena bound (spec.GPUMemLimit), when set.
//   - arena_extend_strategy kSameAsRequested: the arena grows by what is
//     asked, not to the next power of two, so the bound is approached
//     without overshooting chunks.
//   - has_user_compute_stream 0 and do_copy_in_default_stream 1: the
//     provider creates its own CUDA stream for the session, and copies
//     inputs and outputs on it. Every instance has a session of its own,
//     so every instance computes and copies on its own stream, and two
//     instances on one GPU overlap.
func cudaOptions(spec backends.LoadSpec) map[string]string {
	o := map[string]string{
		"device_id":                 strconv.Itoa(spec.Device.GPU),
		"arena_extend_strategy":     "kSameAsRequested",
		"has_user_compute_stream":   "0",
		"do_copy_in_default_stream": "1",
	}
	if spec.GPUMemLimit > 0 {
		o["gpu_mem_limit"] = strconv.FormatUint(spec.GPUMemLimit, 10)
	}
	return o
}

// appendCUDA adds the CUDA execution provider for spec's GPU. A library
// without the provider beside it is refused before ONNX Runtime is asked;
// when the provider's own libraries (CUDA, cuDNN) are missing, ONNX
// Runtime's error names the first it could not open.
func appendCUDA(o *ort.SessionOptions, spec backends.LoadSpec) error {
	if !fileExists(filepath.Join(filepath.Dir(loadedLibrary()), CUDAProviderFile)) {
		return fmt.Errorf("the ONNX Runtime library in use has no CUDA provider (%s is not beside it): "+
			"run \"make ort-gpu\" and point %s at third_party/onnxruntime/gpu/libonnxruntime.so.1", CUDAProviderFile, LibraryEnv)
	}
	err := func() error {
		cuda, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return err
		}
		defer cuda.Destroy()
		if err := cuda.Update(cudaOptions(spec)); err != nil {
			return err
		}
		return o.AppendExecutionProviderCUDA(cuda)
	}()
	if err != nil {
		return fmt.Errorf("%w (the CUDA provider needs a GPU, and the CUDA runtime, cuBLAS, cuRAND, cuFFT and cuDNN 9 of its CUDA "+
			"major version on LD_LIBRARY_PATH: see \"make cuda-libs\" and third_party/onnxruntime/README.md)", err)
	}
	return nil
}

// loadedLibrary is the ONNX Runtime library the environment was created
// from; empty when there is none.
func loadedLibrary() string {
	env.mu.Lock()
	defer env.mu.Unlock()
	return env.path
}
