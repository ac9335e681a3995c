package metrics

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/backendtest"
	"github.com/tiffin-ml/tiffin/gpu"
	"github.com/tiffin-ml/tiffin/runtime"
)

type fakeGPUs []gpu.Sample

func (f fakeGPUs) Latest() []gpu.Sample { return f }

func TestMetricsFromARealManager(t *testing.T) {
	// The fake backend is enough: the metrics are the runtime's, not the
	// engine's, and the test then runs without the native library.
	m := loaded(t, "mlp-small", "", backendtest.New(backendtest.Options{}))
	x := backends.Tensor{Name: "x", DataType: backends.FP32, Shape: []int64{3, 4}, Data: make([]byte, 3*4*4)}
	for range 5 {
		if _, err := m.Infer(context.Background(), &runtime.InferRequest{Model: "mlp-small", Inputs: []backends.Tensor{x}}); err != nil {
			t.Fatal(err)
		}
	}
	met := New(m, fakeGPUs{{Index: 0, UtilizationGPU: 50, MemoryUsed: 1 << 30, TemperatureC: 40, PowerMilliwatts: 250000}})
	met.ObserveRequest("mlp-small", 1, "http", "200", 3*time.Millisecond)
	families, err := met.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.MetricFamily{}
	for _, f := range families {
		got[f.GetName()] = f
	}
	value := func(name string) float64 {
		f := got[name]
		if f == nil || len(f.Metric) == 0 {
			t.Fatalf("metric %s missing", name)
		}
		m := f.Metric[0]
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
		return 0
	}
	checks := map[string]float64{
		"tiffin_requests_total":           1,
		"tiffin_request_duration_seconds": 1,
		"tiffin_inference_items_total":    15,
		"tiffin_batch_size_items":         5,
		"tiffin_compute_duration_seconds": 5,
		"tiffin_queue_duration_seconds":   5,
		"tiffin_model_ready":              1,
		"tiffin_gpu_utilization_ratio":    0.5,
		"tiffin_gpu_power_watts":          250,
	}
	for name, want := range checks {
		if v := value(name); v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	if value("tiffin_instance_cpu_seconds_total") < 0 {
		t.Error("negative CPU time")
	}
	if got["tiffin_batch_dispatch_total"] == nil {
		t.Error("no dispatch reasons")
	}
}

func TestThreadCPUSecondsParsesProc(t *testing.T) {
	if _, ok := threadCPUSeconds(os.Getpid()); !ok {
		t.Skip("no /proc here")
	}
	if _, ok := threadCPUSeconds(-1); ok {
		t.Fatal("a bad tid read")
	}
}

func TestDevicesCollector(t *testing.T) {
	met := New(fakeModels{}, nil)
	dev := &runtime.Devices{GPU: gpu.Inventory{Devices: []gpu.Device{{Index: 0, Name: "NVIDIA H100", UUID: "GPU-1", ComputeMajor: 9, MemoryTotal: 80 << 30}}}}
	dev.CPU.Allowed = []int{0, 1}
	if err := met.RegisterDevices(dev); err != nil {
		t.Fatal(err)
	}
	families, err := met.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, f := range families {
		found[f.GetName()] = true
		if f.GetName() == "tiffin_gpu_info" && f.Metric[0].Label[0].GetValue() != "9.0" {
			t.Errorf("compute capability label %v", f.Metric[0].Label)
		}
	}
	for _, n := range []string{"tiffin_cpu_usable", "tiffin_gpu_info", "tiffin_gpu_memory_total_bytes"} {
		if !found[n] {
			t.Errorf("%s missing", n)
		}
	}
}

type fakeModels struct{}

func (fakeModels) Index() []runtime.VersionStatus { return nil }
func (fakeModels) Version(string, int64) (*runtime.ModelVersion, error) {
	return nil, runtime.Errorf(runtime.KindNotFound, "none")
}

// BenchmarkObserveRequest is a request's metrics cost: resolved series,
// no label hashing or formatting.
func BenchmarkObserveRequest(b *testing.B) {
	met := New(nil, nil)
	b.ReportAllocs()
	for b.Loop() {
		met.ObserveRequest("mlp-small", 1, "http", "200", time.Millisecond)
	}
}

// TestGPUMemoryMetrics: each GPU instance's arena bound, and this
// process's memory on each GPU as NVML reports it.
func TestGPUMemoryMetrics(t *testing.T) {
	repo := t.TempDir()
	if err := backendtest.WriteModel(repo, "g", "instance_groups:\n  - kind: gpu\n    count: 2\n  - kind: gpu\n    gpus: [1]\n    gpu_mem_limit: 1GiB\n", 1); err != nil {
		t.Fatal(err)
	}
	inv := runtime.Inventory{Cores: [][]int{{0}, {1}}, Nodes: []int{0, 0}, GPUs: []int{0, 1}, GPUMemory: map[int]uint64{0: 10 << 30, 1: 10 << 30}}
	m := runtime.NewManager(runtime.ManagerOptions{Repository: repo, Backends: backends.NewRegistry(backendtest.New(backendtest.Options{})), Inventory: inv})
	if err := m.Load(context.Background(), "g"); err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	met := New(m, fakeGPUs{{Index: 0, MemoryUsed: 3 << 30, ProcessMemoryUsed: 2 << 30}, {Index: 1, MemoryUsed: 1 << 30, ProcessMemoryUsed: 1 << 29}})
	families, err := met.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, mt := range f.Metric {
			var labels []string
			for _, l := range mt.Label {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			got[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = mt.GetGauge().GetValue()
		}
	}
	// Group 0 puts two instances on each GPU, 80% of 10 GiB split between
	// a version's instances on a GPU: three on GPU 1 (two, and group 1's).
	want := map[string]float64{
		"tiffin_instance_gpu_memory_limit_bytes{gpu=0,instance=0,model=g,version=1}": 4 << 30,
		"tiffin_instance_gpu_memory_limit_bytes{gpu=0,instance=1,model=g,version=1}": 4 << 30,
		"tiffin_instance_gpu_memory_limit_bytes{gpu=1,instance=2,model=g,version=1}": float64(uint64(8<<30) / 3),
		"tiffin_instance_gpu_memory_limit_bytes{gpu=1,instance=4,model=g,version=1}": 1 << 30,
		"tiffin_gpu_process_memory_used_bytes{gpu=0}":                                2 << 30,
		"tiffin_gpu_process_memory_used_bytes{gpu=1}":                                1 << 29,
	}
	for k, w := range want {
		if v, ok := got[k]; !ok || v != w {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, w)
		}
	}
}

// nv_inference_pending_request_count counts the requests a version has
// queued, as Triton's gauge does for autoscalers.
func TestTritonPendingRequestCount(t *testing.T) {
	fake := backendtest.New(backendtest.Options{})
	m := loaded(t, "m", "max_batch_size: 1\n", fake)
	met := New(m, nil)
	if err := met.EnableTritonNames(); err != nil {
		t.Fatal(err)
	}
	pending := func() float64 {
		families, err := met.Gatherer().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == "nv_inference_pending_request_count" && len(f.Metric) == 1 {
				return f.Metric[0].Gauge.GetValue()
			}
		}
		t.Fatal("nv_inference_pending_request_count missing")
		return 0
	}
	if p := pending(); p != 0 {
		t.Fatalf("%v pending before any request", p)
	}
	fake.SetLatency(300 * time.Millisecond) // one runs, the others wait
	x := backends.Tensor{Name: "x", DataType: backends.FP32, Shape: []int64{1, 4}, Data: make([]byte, 16)}
	done := make(chan error, 4)
	for range 4 {
		go func() {
			_, err := m.Infer(context.Background(), &runtime.InferRequest{Model: "m", Inputs: []backends.Tensor{x}})
			done <- err
		}()
	}
	seen := 0.0
	for deadline := time.Now().Add(5 * time.Second); seen < 2 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		seen = max(seen, pending())
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if seen < 2 || pending() != 0 {
		t.Fatalf("pending peaked at %v with 4 requests on one instance, %v after: want 2 or more, then 0", seen, pending())
	}
}

// Triton's compute input and output series are there, at 0, so that a
// dashboard adding the three parts of compute draws: in PromQL, a sum
// with a missing series is empty.
func TestTritonComputeSeriesAllThere(t *testing.T) {
	met := New(loaded(t, "m", "", backendtest.New(backendtest.Options{})), nil)
	if err := met.EnableTritonNames(); err != nil {
		t.Fatal(err)
	}
	families, err := met.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, f := range families {
		got[f.GetName()] = len(f.Metric)
	}
	for _, name := range []string{"nv_inference_compute_input_duration_us", "nv_inference_compute_infer_duration_us",
		"nv_inference_compute_output_duration_us"} {
		if got[name] != 1 {
			t.Errorf("%s has %d series, want one for m version 1", name, got[name])
		}
	}
}

// loaded is a manager on one core serving model name (version 1, with
// config) from fake, closed when the test ends.
func loaded(t *testing.T, name, config string, fake *backendtest.Backend) *runtime.Manager {
	t.Helper()
	repo := t.TempDir()
	if err := backendtest.WriteModel(repo, name, config, 1); err != nil {
		t.Fatal(err)
	}
	m := runtime.NewManager(runtime.ManagerOptions{Repository: repo, Backends: backends.NewRegistry(fake),
		Inventory: runtime.Inventory{Cores: [][]int{{0}}, Nodes: []int{0}}})
	if err := m.Load(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}
