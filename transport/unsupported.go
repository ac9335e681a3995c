package transport

import "github.com/tiffin-ml/tiffin/runtime"

// The parts of Triton's protocol extensions that tiffin does not have
// answer as such, naming what to do instead, rather than being ignored or
// met with a bare "no route".

// SharedMemoryParam is the parameter by which Triton's shared-memory
// extensions put an input's data, or an output's answer, in a registered
// region instead of the message.
const SharedMemoryParam = "shared_memory_region"

// NoSharedMemory is the error for an input or output (what) that names a
// shared-memory region: ignoring it would answer an output in the message
// while the caller reads a region nobody wrote.
func NoSharedMemory(what, name string) error {
	return runtime.Errorf(runtime.KindUnimplemented,
		"%s %q names a shared-memory region (%s): this server has no shared-memory extension; send the tensor in the request (binary data over HTTP, raw contents over gRPC) and read it from the answer",
		what, name, SharedMemoryParam)
}

// NoExtension is the error for a route of an extension tiffin does not
// have: system or CUDA shared memory, trace or log settings.
func NoExtension(route string) error {
	return runtime.Errorf(runtime.KindUnimplemented,
		"%s: this server does not have that protocol extension (see the README's \"Coming from Triton\" for what it has)", route)
}
