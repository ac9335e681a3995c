package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/backendtest"
	"github.com/tiffin-ml/tiffin/runtime"
)

// These tests cover what a host without a usable GPU does with GPU and
// auto instance groups, and how GPU instances' memory arenas are bounded.
// GPUs are fake: an inventory entry, and a backend that refuses GPU loads
// as ONNX Runtime does when the CUDA provider's libraries are missing.

// syncBuffer is a log sink that workers on several goroutines may write.
type syncBuffer struct {
	mu  sync.Mutex // protects: buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the logged lines that contain substr.
func (b *syncBuffer) lines(substr string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(b.buf.String(), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

// errNoCUDA is what the ONNX Runtime CUDA provider says when its libraries
// are not on the loader's path.
var errNoCUDA = errors.New( //nolint:staticcheck // ST1005: ONNX Runtime's own message, capital and all
	"Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file: No such file or directory")

// cudaless is the fake backend, refusing GPU instances with errNoCUDA.
type cudaless struct{ *backendtest.Backend }

func (b cudaless) Load(ctx context.Context, spec backends.LoadSpec) (backends.Model, error) {
	if spec.Device.Kind == backends.GPU {
		return nil, errNoCUDA
	}
	return b.Backend.Load(ctx, spec)
}

// gpuManager loads repo on a host of two cores and the given GPUs, each of
// 10 GiB, and returns the manager and its log.
func gpuManager(t *testing.T, repo string, b backends.Backend, gpus ...int) (*runtime.Manager, *syncBuffer) {
	t.Helper()
	inv := runtime.Inventory{Cores: [][]int{{0}, {1}}, Nodes: []int{0, 0}, GPUs: gpus, GPUMemory: map[int]uint64{}}
	for _, g := range gpus {
		inv.GPUMemory[g] = 10 << 30
	}
	log := &syncBuffer{}
	m := runtime.NewManager(runtime.ManagerOptions{Repository: repo, Backends: backends.NewRegistry(b),
		Inventory: inv, Logger: slog.New(slog.NewTextHandler(log, nil))})
	t.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil {
			t.Errorf("close manager: %v", err)
		}
	})
	if err := m.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m, log
}

func status(t *testing.T, m *runtime.Manager, model string) runtime.VersionStatus {
	t.Helper()
	for _, s := range m.Index() {
		if s.Model == model {
			return s
		}
	}
	t.Fatalf("%s is not in the index %+v", model, m.Index())
	return runtime.VersionStatus{}
}

// kinds lists the device kinds of a READY model's instances.
func kinds(t *testing.T, m *runtime.Manager, model string) string {
	t.Helper()
	v, err := m.Version(model, 0)
	if err != nil {
		t.Fatalf("%s: %v", model, err)
	}
	var out []string
	for _, in := range v.Instances() {
		out = append(out, in.Device.Kind.String())
	}
	return strings.Join(out, " ")
}

func TestGPUGroupWithoutGPUIsUnavailableNamingTheDevice(t *testing.T) {
	repo := t.TempDir()
	writeFake(t, repo, "g", "instance_groups:\n  - kind: gpu\n", 1)
	writeFake(t, repo, "c", "", 1)
	m, _ := gpuManager(t, repo, backendtest.New(backendtest.Options{}))
	s := status(t, m, "g")
	if s.State != runtime.StateUnavailable || !strings.Contains(s.Reason, "no GPU that NVML can see") {
		t.Fatalf("kind gpu on a host without GPUs: %s %q, want UNAVAILABLE naming the missing GPU", s.State, s.Reason)
	}
	if _, err := infer(m, "g", 1); runtime.KindOf(err) != runtime.KindUnavailable {
		t.Fatalf("infer on the unavailable model: %v, want UNAVAILABLE", err)
	}
	if _, err := infer(m, "c", 2); err != nil {
		t.Fatalf("the CPU model beside it: %v", err)
	}
}

func TestGPUGroupWithoutCUDALibrariesIsUnavailableNamingTheLibrary(t *testing.T) {
	repo := t.TempDir()
	writeFake(t, repo, "g", "instance_groups:\n  - kind: gpu\n", 1)
	m, _ := gpuManager(t, repo, cudaless{backendtest.New(backendtest.Options{})}, 0)
	s := status(t, m, "g")
	if s.State != runtime.StateUnavailable || !strings.Contains(s.Reason, "libcublasLt.so.12") || !strings.Contains(s.Reason, "gpu0") {
		t.Fatalf("kind gpu without CUDA libraries: %s %q, want UNAVAILABLE naming libcublasLt.so.12 and gpu0", s.State, s.Reason)
	}
}

// TestAutoFallsBackToCPUWithOneLogLine: kind auto runs on the CPU when the
// host has no GPU, or when its GPU load fails, and says why in one line.
func TestAutoFallsBackToCPUWithOneLogLine(t *testing.T) {
	for _, c := range []struct {
		name    string
		backend backends.Backend
		gpus    []int
		because string
	}{
		{"no GPU", backendtest.New(backendtest.Options{}), nil, "no GPU"},
		{"no CUDA libraries", cudaless{backendtest.New(backendtest.Options{})}, []int{0}, "libcublasLt.so.12"},
	} {
		t.Run(c.name, func(t *testing.T) {
			repo := t.TempDir()
			writeFake(t, repo, "a", "instance_groups:\n  - kind: auto\n    count: 2\n", 1)
			m, log := gpuManager(t, repo, c.backend, c.gpus...)
			if got := kinds(t, m, "a"); got != "cpu cpu" {
				t.Fatalf("auto runs on %q, want two cpu instances", got)
			}
			if _, err := infer(m, "a", 3); err != nil {
				t.Fatal(err)
			}
			if l := log.lines("kind auto"); len(l) != 1 || !strings.Contains(l[0], c.because) {
				t.Fatalf("log lines about kind auto: %q, want one naming %q", l, c.because)
			}
		})
	}
}

func TestGPUMemLimitPerInstance(t *testing.T) {
	repo := t.TempDir()
	writeFake(t, repo, "def", "instance_groups:\n  - kind: gpu\n    count: 2\n", 1)
	writeFake(t, repo, "set", "instance_groups:\n  - kind: gpu\n    gpu_mem_limit: 1GiB\n  - kind: cpu\n", 1)
	m, _ := gpuManager(t, repo, backendtest.New(backendtest.Options{}), 0)
	want := map[string][]uint64{
		"def": {4 << 30, 4 << 30}, // 80% of 10 GiB, split between the two
		"set": {1 << 30, 0},       // as configured; the CPU instance has none
	}
	for model, limits := range want {
		v, err := m.Version(model, 0)
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		in := v.Instances()
		if len(in) != len(limits) {
			t.Fatalf("%s has %d instances, want %d", model, len(in), len(limits))
		}
		for i, l := range limits {
			if in[i].GPUMemLimit != l {
				t.Errorf("%s instance %d (%s): gpu_mem_limit %d, want %d", model, i, in[i].Device.Kind, in[i].GPUMemLimit, l)
			}
		}
	}
}
