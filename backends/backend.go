package backends

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
)

// DeviceKind says what an instance runs on.
type DeviceKind uint8

const (
	CPU DeviceKind = iota
	GPU
)

func (k DeviceKind) String() string {
	if k == GPU {
		return "gpu"
	}
	return "cpu"
}

// Device is the hardware one model instance owns: a set of CPU cores, or one
// GPU (with the CPU cores that feed it).
type Device struct {
	Kind  DeviceKind
	Cores []int // CPU ids the instance's thread is pinned to
	GPU   int   // CUDA device id, when Kind is GPU
}

// LogValue renders the device as "cpu[0 1]" or "gpu0".
func (d Device) LogValue() slog.Value {
	if d.Kind == GPU {
		return slog.StringValue(fmt.Sprintf("gpu%d", d.GPU))
	}
	return slog.StringValue(fmt.Sprintf("cpu%v", d.Cores))
}

// LoadSpec is everything a backend needs to load one instance of a model
// version.
type LoadSpec struct {
	Model    string // model name
	Version  int64
	Path     string // the model file
	Instance int    // instance index within the model version
	Device   Device
	// Threads is how many threads the instance may use for one run; it is
	// the number of cores it owns. 0 lets the backend choose.
	Threads int
	// GPUMemLimit bounds a GPU instance's memory arena, in bytes; 0 leaves
	// it to the backend.
	GPUMemLimit uint64
	Logger      *slog.Logger
}

// Description is what a backend says of itself, so that nothing outside
// its package hard-codes it: the runtime, the config checks and the
// transports read it from the registry.
type Description struct {
	// Platforms are other names config files may use for the backend
	// (Triton's platform names); the first is the platform the transports
	// report for its models. Empty: the backend's name.
	Platforms []string
	// ModelFiles are the file names the backend loads from a version
	// folder, in order of preference, such as "model.onnx".
	ModelFiles []string
	// AutoOrder is the backend's place in `backend: auto`: available
	// backends are tried from the lowest; 0 or less: auto never picks it.
	AutoOrder int
	// NoNULInStrings says the engine takes BYTES elements as C strings, so
	// one holding a NUL byte would be cut short: the runtime refuses such
	// a request alone, before it joins a batch.
	NoNULInStrings bool
}

// Platform is the platform name the transports report.
func (d Description) Platform(name string) string {
	if len(d.Platforms) > 0 {
		return d.Platforms[0]
	}
	return name
}

// Backend is one execution engine.
type Backend interface {
	// Name is the name config files use, such as "onnxruntime".
	Name() string
	// Describe says what the backend answers to and loads; it never
	// changes.
	Describe() Description
	// Available is nil when this process can load models with the backend,
	// and otherwise says why not (a missing library, a build without cgo).
	Available() error
	// Load loads one instance, on the instance's worker goroutine; see
	// Model for what that goroutine guarantees.
	Load(ctx context.Context, spec LoadSpec) (Model, error)
}

// Model is one loaded instance. This is the threading contract between the
// runtime and every backend; backends state only how they meet it.
//
//   - Load and Close run on the instance's worker goroutine, Close once.
//     Calls never overlap: a Model need not be safe for concurrent use,
//     and the runtime never calls Run after Close.
//   - Run may come from different goroutines and OS threads. An instance
//     pinned to some of the process's cores, or on a GPU, is run only by
//     its worker, locked to one OS thread pinned to Device.Cores (threads
//     an engine starts in Load inherit that placement). Any other instance
//     is lent to the request goroutines, one holder at a time
//     (runtime/LOCKS.md, "Lent instances"). So a Model must keep no
//     per-thread state between calls.
//   - Metadata may be called from any goroutine at any time; what it
//     returns never changes and must not be modified.
//   - The one call from elsewhere: a backend that is an io.Closer is
//     closed at server stop, after the runtime has closed its models. A
//     shutdown that ran out of time may leave instances still in Run; a
//     backend whose Close releases them (because it frees what they need,
//     such as a native environment) must serialise that with Run itself.
type Model interface {
	Metadata() Metadata
	// Run executes one batch. inputs holds one tensor per metadata input,
	// in metadata order; the result holds one tensor per metadata output,
	// in metadata order. The results' buffers are the caller's alone once
	// Run returns (fresh memory, or from OutputBuffer): the runtime hands
	// them to requests and may recycle them (buffers.go).
	Run(ctx context.Context, inputs []Tensor) ([]Tensor, error)
	Close() error
}

// Registry names the backends this process has. It is filled at start and
// read afterwards; the mutex only makes late registration safe.
type Registry struct {
	mu       sync.RWMutex       // protects: backends
	backends map[string]Backend // by Name()
}

// NewRegistry returns a registry holding the given backends.
func NewRegistry(bs ...Backend) *Registry {
	r := &Registry{backends: make(map[string]Backend)}
	for _, b := range bs {
		r.Register(b)
	}
	return r
}

// Register adds b, replacing any backend of the same name.
func (r *Registry) Register(b Backend) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.backends[b.Name()] = b
}

// Get returns the backend with this name, or the one that answers to this
// platform name.
func (r *Registry) Get(name string) (Backend, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if b, ok := r.backends[name]; ok {
		return b, nil
	}
	for _, b := range r.backends {
		if slices.Contains(b.Describe().Platforms, name) {
			return b, nil
		}
	}
	return nil, fmt.Errorf("unknown backend %q (have %v)", name, r.namesLocked())
}

// Names lists the registered backends, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.namesLocked()
}

func (r *Registry) namesLocked() []string {
	names := make([]string, 0, len(r.backends))
	for n := range r.backends {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Auto lists the backends `backend: auto` may pick, in the order it tries
// them: by AutoOrder, then by name.
func (r *Registry) Auto() []Backend {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []Backend
	for _, n := range r.namesLocked() {
		if b := r.backends[n]; b.Describe().AutoOrder > 0 {
			out = append(out, b)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Describe().AutoOrder < out[j].Describe().AutoOrder })
	return out
}
