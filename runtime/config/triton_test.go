package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/runtime/config"
)

func loadPbtxt(t *testing.T, text string) (config.Model, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.pbtxt")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return config.LoadTriton(path)
}

func TestLoadTritonMapsFields(t *testing.T) {
	m, err := loadPbtxt(t, `
backend: "onnxruntime"
max_batch_size: 16
input [ { name: "in" data_type: TYPE_STRING format: FORMAT_NCHW dims: [ 3, -1 ] } ]
output [ { name: "out" data_type: TYPE_FP16 dims: [ 10 ] label_filename: "labels.txt" } ]
dynamic_batching { max_queue_delay_microseconds: 0 priority_levels: 2 }
instance_group [ { count: 2 kind: KIND_GPU gpus: [ 0, 1 ] }, { kind: KIND_AUTO rate_limiter { priority: 1 } } ]
version_policy: { specific: { versions: [ 1, 3 ] } }
default_model_filename: "net.onnx"
model_warmup [ { name: "f" batch_size: 2 inputs { key: "in" value: { data_type: TYPE_STRING dims: [ 3, 1 ] input_data_file: "in.bin" } } } ]
response_cache { enable: true }
`)
	if err != nil {
		t.Fatal(err)
	}
	if m.Backend != "onnxruntime" || *m.MaxBatchSize != 16 || m.ModelFile != "net.onnx" {
		t.Fatalf("backend %q, max batch %d, file %q", m.Backend, *m.MaxBatchSize, m.ModelFile)
	}
	wantIn := []config.TensorConfig{{Name: "in", DataType: "BYTES", Shape: []int64{3, -1}}}
	if !reflect.DeepEqual(m.Inputs, wantIn) || m.Outputs[0].DataType != "FP16" {
		t.Fatalf("inputs %+v, outputs %+v", m.Inputs, m.Outputs)
	}
	// max_queue_delay_microseconds 0 is a window of 0 (dispatch what is
	// queued), not the default window.
	if b := m.Batching; b.Mode != config.BatchStatic || !b.MaxQueueDelay.Set || b.MaxQueueDelay.D() != 0 || b.Timeout.D() != time.Duration(0) {
		t.Fatalf("batching %+v", b)
	}
	wantGroups := []config.InstanceGroup{{Kind: config.KindGPU, Count: 2, GPUs: []int{0, 1}}, {Kind: config.KindAuto}}
	if !reflect.DeepEqual(m.InstanceGroups, wantGroups) {
		t.Fatalf("groups %+v", m.InstanceGroups)
	}
	if !reflect.DeepEqual(m.VersionPolicy.Specific, []int64{1, 3}) {
		t.Fatalf("version policy %+v", m.VersionPolicy)
	}
	w := m.Warmup[0]
	if w.Items() != 2 || w.Runs() != 1 || w.Inputs["in"].File != "in.bin" || w.Inputs["in"].DataTypeName() != "BYTES" {
		t.Fatalf("warmup %+v", w)
	}
	want := []string{"dynamic_batching.priority_levels", "instance_group.rate_limiter", "output.label_filename", "response_cache"}
	if !reflect.DeepEqual(m.Ignored, want) {
		t.Fatalf("ignored %v, want %v", m.Ignored, want)
	}
}

func TestLoadTritonMinimalConfigInfers(t *testing.T) {
	// A config naming only the platform leaves the rest to the model file,
	// as Triton's auto-complete does: max_batch_size and the batching are
	// tiffin's defaults.
	m, err := loadPbtxt(t, `platform: "onnxruntime_onnx"`)
	if err != nil {
		t.Fatal(err)
	}
	if m.MaxBatchSize != nil || m.Backend != "onnxruntime_onnx" || m.Batching.Mode != "" || m.Ignored != nil {
		t.Fatalf("%+v", m)
	}
}

func TestLoadTritonErrorsNameTheField(t *testing.T) {
	cases := map[string]string{
		`max_batch_size: -1`: "max_batch_size: must be 0 to 2147483647, got -1",
		`instance_group [ { count: 10000 kind: KIND_CPU } ]`:                                                       "instance_group[0].count: must be 1 to 256, got 10000",
		`dynamic_batching { default_queue_policy { max_queue_size: 1073741824 } }`:                                 "dynamic_batching.default_queue_policy.max_queue_size: must be at most 65536",
		`input [ { name: "a" data_type: TYPE_FP32 dims: [ 1 ] }, { name: "a" data_type: TYPE_FP32 dims: [ 2 ] } ]`: `input[1].name: "a" is also input[0]`,
		`instance_group [ { kind: KIND_MODEL } ]`:                                                                  "instance_group[0].kind: KIND_MODEL is not supported",
		`instance_group [ { kind: KIND_CPU gpus: [ 0 ] } ]`:                                                        "instance_group[0].gpus: a KIND_CPU group lists GPUs [0]",
		`model_transaction_policy { decoupled: true }`:                                                             "model_transaction_policy.decoupled",
		`ensemble_scheduling { }`:                                                                                  "ensemble_scheduling: ensembles are not supported",
		`default_model_filename: "../x.onnx"`:                                                                      `default_model_filename: "../x.onnx" must be a file name`,
		`input [ { name: "a" dims: [ 1 ] } ]`:                                                                      "input[0].data_type: is required",
		`model_warmup [ { name: "w" inputs { key: "a" value: { data_type: TYPE_FP32 dims: [ 1 ] } } } ]`:           "model_warmup[0].inputs.a: set zero_data, random_data or input_data_file",
	}
	for text, want := range cases {
		_, err := loadPbtxt(t, text)
		if err == nil || !strings.Contains(err.Error(), "config.pbtxt: "+want) {
			t.Errorf("%s: got %v, want %q", text, err, want)
		}
	}
}
