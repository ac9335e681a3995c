// Package onnxtest finds the ONNX Runtime library for tests, in one place:
// $TIFFIN_ORT_LIBRARY when set, else the copy `make ort` puts under
// third_party in this module. Tests that need it skip, saying so, when it
// is missing.
//
// It imports nothing of tiffin, so the onnx package's own tests can use it.
package onnxtest

import (
	"os"
	"path/filepath"
	"testing"
)

// LibraryEnv and RelLibraryPath repeat onnx.LibraryEnv and where `make
// ort` puts the library; the onnx package's tests check they agree.
const (
	LibraryEnv     = "TIFFIN_ORT_LIBRARY"
	RelLibraryPath = "third_party/onnxruntime/lib/libonnxruntime.so.1"
)

// Find returns the library's absolute path, or the places it looked and
// false.
func Find() (string, bool) {
	if p := os.Getenv(LibraryEnv); p != "" {
		abs, err := filepath.Abs(p)
		return abs, err == nil && isFile(abs)
	}
	root, ok := moduleRoot()
	if !ok {
		return RelLibraryPath, false
	}
	p := filepath.Join(root, RelLibraryPath)
	return p, isFile(p)
}

// LibraryPath returns the library's absolute path, or skips the test (or
// benchmark) saying where it looked.
func LibraryPath(tb testing.TB) string {
	tb.Helper()
	p, ok := Find()
	if !ok {
		tb.Skipf("ONNX Runtime library not found at %s: run \"make ort\" (or set %s)", p, LibraryEnv)
	}
	return p
}

// GPULibraryEnv names a CUDA-enabled ONNX Runtime library for the tests
// that compare it with the CPU build; RelGPULibraryPath is where `make
// ort-gpu` puts one.
const (
	GPULibraryEnv     = "TIFFIN_ORT_GPU_LIBRARY"
	RelGPULibraryPath = "third_party/onnxruntime/gpu/libonnxruntime.so.1"
)

// GPULibraryPath returns the CUDA-enabled library's absolute path
// ($TIFFIN_ORT_GPU_LIBRARY, else `make ort-gpu`'s copy), or skips the test
// saying where it looked. The library is 340 MB, so CI need not fetch it.
func GPULibraryPath(tb testing.TB) string {
	tb.Helper()
	p := os.Getenv(GPULibraryEnv)
	if p == "" {
		root, ok := moduleRoot()
		if !ok {
			tb.Skipf("no module root: cannot look for %s", RelGPULibraryPath)
		}
		p = filepath.Join(root, RelGPULibraryPath)
	}
	abs, err := filepath.Abs(p)
	if err != nil || !isFile(abs) {
		tb.Skipf("CUDA-enabled ONNX Runtime not found at %s: run \"make ort-gpu\" (or set %s) to test the GPU build", p, GPULibraryEnv)
	}
	return abs
}

// moduleRoot is the nearest folder at or above the working directory (a
// test's package folder) that holds go.mod.
func moduleRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if isFile(filepath.Join(dir, "go.mod")) {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}
