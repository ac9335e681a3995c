package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

// tritonRepoConfig is written the way Triton's documentation writes a
// model's config: platform, declared tensors, dynamic batching, two CPU
// instances, a version policy and a warmup sample.
const tritonRepoConfig = `name: "classifier"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [
  {
    name: "input"
    data_type: TYPE_FP32
    dims: [ 16 ]
  }
]
output [
  {
    name: "output"
    data_type: TYPE_FP32
    dims: [ 4 ]
  }
]
dynamic_batching {
  preferred_batch_size: [ 4, 8 ]
  max_queue_delay_microseconds: 50000
}
instance_group [
  {
    count: 2
    kind: KIND_CPU
  }
]
version_policy: { specific: { versions: [ 1, 3 ] } }
model_warmup [
  {
    name: "zeros"
    batch_size: 8
    inputs {
      key: "input"
      value: { data_type: TYPE_FP32 dims: [ 16 ] zero_data: true }
    }
  }
]
`

// tritonRepo writes DIR/classifier/{1,2,3}/model.onnx (mlp-small) and
// DIR/classifier/config.pbtxt.
func tritonRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	onnx, err := modelgen.MLPSmall().ONNX()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1", "2", "3"} {
		if err := os.MkdirAll(filepath.Join(dir, "classifier", v), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "classifier", v, "model.onnx"), onnx, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "classifier", "config.pbtxt"), []byte(tritonRepoConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestE2ETritonRepository serves a Triton repository unchanged: its
// batching and instance settings take effect and show in /config and
// /stats, its version policy picks the versions, its warmup runs before
// READY, and --metrics-compat triton shows Triton's metric names on the
// --metrics-port listener.
func TestE2ETritonRepository(t *testing.T) {
	metricsPort := freePort(t)
	ts := startServer(t, tritonRepo(t), func(c *config.Server) {
		c.MetricsPort = metricsPort
		c.MetricsCompat = config.MetricsCompatTriton
	})

	var cfg struct {
		Name, Platform, Backend string
		MaxBatchSize            int    `json:"max_batch_size"`
		DefaultModelFilename    string `json:"default_model_filename"`
		Input                   []struct {
			Name     string
			DataType string `json:"data_type"`
			Dims     []int64
		}
		DynamicBatching struct {
			PreferredBatchSize        []int `json:"preferred_batch_size"`
			MaxQueueDelayMicroseconds int   `json:"max_queue_delay_microseconds"`
		} `json:"dynamic_batching"`
		InstanceGroup []struct {
			Name  string
			Count int
			Kind  string
		} `json:"instance_group"`
		VersionPolicy struct {
			Specific struct{ Versions []int64 }
		} `json:"version_policy"`
		ModelWarmup []struct{ Name string } `json:"model_warmup"`
	}
	r := ts.do(t, "GET", "/v2/models/classifier/config", nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("config: %d %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, &cfg); err != nil {
		t.Fatal(err)
	}
	ig := cfg.InstanceGroup
	if cfg.Name != "classifier" || cfg.Platform != "onnxruntime_onnx" || cfg.Backend != "onnxruntime" || cfg.MaxBatchSize != 8 ||
		cfg.DefaultModelFilename != "model.onnx" || len(cfg.Input) != 1 || cfg.Input[0].DataType != "TYPE_FP32" ||
		fmt.Sprint(cfg.DynamicBatching.PreferredBatchSize) != "[4 8]" || cfg.DynamicBatching.MaxQueueDelayMicroseconds != 50000 ||
		len(ig) != 1 || ig[0].Count != 2 || ig[0].Kind != "KIND_CPU" || ig[0].Name != "classifier_0" ||
		fmt.Sprint(cfg.VersionPolicy.Specific.Versions) != "[1 3]" || len(cfg.ModelWarmup) != 1 {
		t.Fatalf("config as served: %s", r.body)
	}
	if r := ts.do(t, "GET", "/v2/models/classifier/versions/2/ready", nil, nil); r.status != http.StatusNotFound {
		t.Fatalf("version 2 (outside the policy): %d, want 404", r.status)
	}

	// Eight clients at once, one item each: the 50ms window and the
	// preferred sizes gather them into batches larger than one.
	x := make([]float32, 16)
	for i := range x {
		x[i] = float32(i) / 16
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := ts.postJSON(t, "/v2/models/classifier/versions/3/infer", map[string]any{
				"inputs": []map[string]any{{"name": "input", "shape": []int{1, 16}, "datatype": "FP32", "data": x}}})
			if r.status != http.StatusOK {
				errs <- fmt.Sprintf("%d %s", r.status, r.body)
				return
			}
			assertClose(t, "output", floats(t, decodeV2(t, r.body).Outputs[0].Data), modelgen.MLPSmall().Forward(x, 1), 1e-5)
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}

	var stats struct {
		ModelStats []struct {
			Version        string
			InferenceCount int `json:"inference_count"`
			ExecutionCount int `json:"execution_count"`
			BatchStats     []struct {
				BatchSize int `json:"batch_size"`
			} `json:"batch_stats"`
		} `json:"model_stats"`
	}
	r = ts.do(t, "GET", "/v2/models/classifier/versions/3/stats", nil, nil)
	if err := json.Unmarshal(r.body, &stats); err != nil || len(stats.ModelStats) != 1 {
		t.Fatalf("stats: %v %s", err, r.body)
	}
	ms := stats.ModelStats[0]
	largest := 0
	for _, b := range ms.BatchStats {
		largest = max(largest, b.BatchSize)
	}
	// Warmup runs are not requests: only the eight count.
	if ms.InferenceCount != 8 || ms.ExecutionCount >= 8 || largest < 2 {
		t.Fatalf("stats: %d items in %d executions, largest batch %d: want 8 items batched together: %s",
			ms.InferenceCount, ms.ExecutionCount, largest, r.body)
	}

	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := string(readAll(t, resp))
	for _, want := range []string{
		`nv_inference_request_success{model="classifier",version="3"} 8`,
		`nv_inference_count{model="classifier",version="3"} 8`,
		`nv_inference_exec_count{model="classifier",version="3"}`,
		`nv_inference_compute_infer_duration_us{model="classifier",version="3"}`,
		`nv_inference_compute_input_duration_us{model="classifier",version="3"} 0`, // compute is one span, counted as infer
		`nv_inference_compute_output_duration_us{model="classifier",version="3"} 0`,
		`nv_inference_pending_request_count{model="classifier",version="3"} 0`, // all answered
		`tiffin_model_warmup_seconds{model="classifier",version="1"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics on --metrics-port lack %s", want)
		}
	}
}

// TestE2ETritonConfigContradiction: a config.pbtxt that contradicts the
// model file leaves the model UNAVAILABLE with the reason, and the server
// (with Triton's default strict readiness) not ready.
func TestE2ETritonConfigContradiction(t *testing.T) {
	repo := tritonRepo(t)
	bad := strings.Replace(tritonRepoConfig, "dims: [ 16 ]\n  }", "dims: [ 15 ]\n  }", 1)
	if err := os.WriteFile(filepath.Join(repo, "classifier", "config.pbtxt"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, repo, nil)
	r := ts.do(t, "GET", "/v2/models/classifier/versions/3/ready", nil, nil)
	want := `input "input" has dims [15] in the config but shape [-1 16] in the model`
	if r.status != http.StatusServiceUnavailable || !strings.Contains(decodeV2(t, r.body).Error, want) {
		t.Fatalf("ready: %d %s, want 503 naming %q", r.status, r.body, want)
	}
	if r := ts.do(t, "GET", "/v2/health/ready", nil, nil); r.status != http.StatusServiceUnavailable {
		t.Fatalf("server ready: %d, want 503 (strict readiness is the default)", r.status)
	}
}
