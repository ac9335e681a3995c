// Package onnx is tiffin's ONNX Runtime backend ("onnxruntime"). It is the
// only package that imports github.com/yalue/onnxruntime_go.
//
// The ONNX Runtime shared library is loaded at run time (dlopen), from
// Options.LibraryPath or DefaultLibraryPath; `make ort` fetches it into
// third_party/onnxruntime/lib. The process-wide ORT environment is created on
// the first Available or Load call and destroyed by Backend.Close.
//
// Each loaded instance owns one ORT session, configured for its worker (see
// the threading contract on backends.Model): Threads intra-op threads (the
// calling thread plus Threads-1 pool threads, created in Load, so they
// inherit the worker's CPU affinity when it is pinned), one inter-op
// thread, sequential execution, no spinning, and all graph optimisations.
// A session keeps no state between runs that ties it to one OS thread.
// Backend.Close closes the instances still open, under each one's lock,
// before it destroys the environment.
//
// A GPU instance (LoadSpec.Device.Kind GPU) adds the CUDA execution provider
// on its device (cuda.go): its session's own CUDA stream for compute and
// copies, and a memory arena bounded by LoadSpec.GPUMemLimit that grows by
// what is asked. That needs a CUDA-enabled library (`make ort-gpu`, with
// libonnxruntime_providers_cuda.so beside it) and the CUDA libraries of its
// version on the loader path; without them Load fails naming what is
// missing.
//
// Inputs are handed to ORT without per-element conversion: a fixed-width
// tensor's little-endian bytes back the ORT value directly. ORT allocates the
// outputs; their contents are returned in Go memory.
//
// Sequence and map outputs (as in scikit-learn exports) are left out of the
// metadata and never computed; models with such inputs are refused.
//
// Without cgo the package still builds, and its backend reports itself
// unavailable.
package onnx
