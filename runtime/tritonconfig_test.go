package runtime_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/backendtest"
	"github.com/tiffin-ml/tiffin/runtime"
)

// writePbtxt writes a fake model whose config is a Triton config.pbtxt.
func writePbtxt(t *testing.T, repo, name, pbtxt string, versions ...int64) {
	t.Helper()
	writeFake(t, repo, name, "", versions...)
	if err := os.WriteFile(filepath.Join(repo, name, "config.pbtxt"), []byte(pbtxt), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tritonDoc is a config written the way Triton's documentation writes
// them: declared tensors, dynamic batching, two CPU instances, a version
// policy and a warmup sample.
const tritonDoc = `
name: "m"
platform: "fake_platform"
max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 4 ] } ]
dynamic_batching {
  preferred_batch_size: [ 4, 8 ]
  max_queue_delay_microseconds: 500
  default_queue_policy { max_queue_size: 16 default_timeout_microseconds: 2000000 allow_timeout_override: true }
}
instance_group [ { count: 2 kind: KIND_CPU } ]
version_policy: { latest: { num_versions: 2 } }
model_warmup [ { name: "zeros" batch_size: 8 count: 3 inputs { key: "x" value: { data_type: TYPE_FP32 dims: [ 4 ] zero_data: true } } } ]
optimization { input_pinned_memory { enable: true } }
parameters { key: "intra_op_thread_count" value: { string_value: "2" } }
`

func TestTritonConfigMapsAndWarmsUp(t *testing.T) {
	repo := t.TempDir()
	writePbtxt(t, repo, "m", tritonDoc, 1, 2, 3)
	fake := backendtest.New(backendtest.Options{})
	m := fakeManager(t, repo, fake)
	if err := m.Load(context.Background(), "m"); err != nil {
		t.Fatal(err)
	}
	vs, _ := m.Versions("m")
	if len(vs) != 2 || vs[0] != 2 || vs[1] != 3 {
		t.Fatalf("versions %v, want [2 3] (latest 2)", vs)
	}
	v, err := m.Version("m", 3)
	if err != nil {
		t.Fatal(err)
	}
	b := v.Config.Batching
	if v.Sig.MaxBatchSize != 8 || b.Mode != "static" || b.MaxQueueDelay.D() != 500*time.Microsecond ||
		len(b.PreferredBatchSizes) != 2 || b.MaxQueueSize != 16 || b.Timeout.D() != 2*time.Second {
		t.Fatalf("max batch %d, batching %+v: want 8, static, 500µs, [4 8], 16, 2s", v.Sig.MaxBatchSize, b)
	}
	if n := len(v.Instances()); n != 2 {
		t.Fatalf("%d instances, want 2", n)
	}
	// Every instance of both versions ran the sample 3 times before READY.
	if fake.Runs() != 2*2*3 || v.Warmup <= 0 {
		t.Fatalf("%d runs, warmup %v: want 12 warmup runs before any request", fake.Runs(), v.Warmup)
	}
	want := []string{"optimization", "parameters.intra_op_thread_count"}
	if strings.Join(v.Config.Ignored, ",") != strings.Join(want, ",") {
		t.Fatalf("ignored %v, want %v", v.Config.Ignored, want)
	}
	if _, err := infer(m, "m", 3); err != nil {
		t.Fatal(err)
	}
}

func TestTritonConfigRefusals(t *testing.T) {
	cases := []struct {
		name, pbtxt, yaml, want string
	}{
		{"dtype contradicts the model", `max_batch_size: 4
input [ { name: "x" data_type: TYPE_INT64 dims: [ 4 ] } ]`, "", `config.pbtxt: input[0]: input "x" is INT64 in the config but FP32 in the model`},
		{"dims contradict the model", `max_batch_size: 4
input [ { name: "x" data_type: TYPE_FP32 dims: [ 5 ] } ]`, "", `input "x" has dims [5] in the config but shape [-1 4] in the model`},
		{"unknown tensor", `max_batch_size: 4
output [ { name: "z" data_type: TYPE_FP32 dims: [ 4 ] } ]`, "", `output[0]: the model has no output "z"`},
		{"batching a fixed model", `max_batch_size: 4
input [ { name: "x" data_type: TYPE_FP32 dims: [ -1, 4 ] } ]`, "", `input "x" has dims [-1 4]`},
		{"both configs", `max_batch_size: 4`, "max_batch_size: 4\n", "config.yaml and "},
		{"name differs", `name: "other"`, "", `config.pbtxt: name: is "other" but the model's folder is "m"`},
		{"sequence batching", `sequence_batching {}`, "", "sequence_batching: stateful models are not supported"},
		{"reshape to another shape than the model's", `max_batch_size: 4
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] reshape { shape: [ 2, 2 ] } } ]`, "", `input "x" has reshape [2 2] in the config but shape [-1 4] in the model`},
		{"reshape of another size", `max_batch_size: 4
input [ { name: "x" data_type: TYPE_FP32 dims: [ 2, 3 ] reshape { shape: [ 4 ] } } ]`, "", "input[0].reshape: \"x\": dims [2 3] and reshape [4] must both be fixed sizes (no -1) holding as many elements"},
		{"reshape with a dynamic size", `max_batch_size: 4
input [ { name: "x" data_type: TYPE_FP32 dims: [ -1 ] reshape { shape: [ 4 ] } } ]`, "", "must both be fixed sizes"},
		{"a typo", `max_batch_size: 4
dynamic_batchin {}`, "", `config.pbtxt: (line 2:1): unknown field: dynamic_batchin`},
		{"warmup for no input", `max_batch_size: 4
model_warmup [ { name: "w" batch_size: 1 inputs { key: "q" value: { data_type: TYPE_FP32 dims: [ 4 ] zero_data: true } } } ]`, "", `config.pbtxt: model_warmup[0] (w): the model has no input "q"`},
		{"warmup too large", `max_batch_size: 4
model_warmup [ { name: "w" batch_size: 5 inputs { key: "x" value: { data_type: TYPE_FP32 dims: [ 4 ] random_data: true } } } ]`, "", "batch_size 5 is over max_batch_size 4"},
		{"platform and backend disagree", `backend: "fake" platform: "onnxruntime_onnx"`, "", `platform: "onnxruntime_onnx" is not a platform of backend "fake"`},
		{"preferred size over max", `max_batch_size: 8
dynamic_batching { preferred_batch_size: [ 16 ] }`, "", `config.pbtxt: dynamic_batching.preferred_batch_size: size 16 is more than max_batch_size, 8`},
		{"a gpu on a host without one", `instance_group [ { kind: KIND_GPU } ]`, "", `config.pbtxt: instance_group[0].kind: gpu, but this host has no GPU`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repo := t.TempDir()
			writePbtxt(t, repo, "m", c.pbtxt, 1)
			if c.yaml != "" {
				if err := os.WriteFile(filepath.Join(repo, "m", "config.yaml"), []byte(c.yaml), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			m := fakeManager(t, repo, backendtest.New(backendtest.Options{}))
			err := m.Load(context.Background(), "m")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("load: %v, want an error naming %q", err, c.want)
			}
			for _, st := range m.Index() {
				if st.State == runtime.StateReady {
					t.Fatalf("%+v is READY, want UNAVAILABLE", st)
				}
			}
		})
	}
}

// loadMeta loads model "m" of the fake backend with the given signature
// and config.pbtxt, and returns the manager and its version.
func loadMeta(t *testing.T, meta backends.Metadata, pbtxt string) (*runtime.Manager, *runtime.ModelVersion) {
	t.Helper()
	repo := t.TempDir()
	writePbtxt(t, repo, "m", pbtxt, 1)
	m := fakeManager(t, repo, backendtest.New(backendtest.Options{Metadata: meta}))
	if err := m.Load(context.Background(), "m"); err != nil {
		t.Fatal(err)
	}
	v, err := m.Version("m", 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, v
}

// Triton's reshape: requests and answers see dims, the model runs on its
// own shape (the fake backend refuses any other). Triton's auto-complete
// writes dims [1] with reshape [] for a model whose tensors are [batch].
func TestTritonReshape(t *testing.T) {
	for _, c := range []struct {
		name       string
		model      []int64 // the model's x and y
		dims       string
		reshape    string
		seen, sent []int64 // a request's shape, and what the model gets
	}{
		{"a scalar per item", []int64{-1}, "[ 1 ]", "[ ]", []int64{3, 1}, []int64{3}},
		{"a matrix per item", []int64{-1, 4}, "[ 2, 2 ]", "[ 4 ]", []int64{3, 2, 2}, []int64{3, 4}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tensor := func(kind, name string) string {
				return kind + ` [ { name: "` + name + `" data_type: TYPE_FP32 dims: ` + c.dims + ` reshape { shape: ` + c.reshape + ` } } ]`
			}
			meta := backends.Metadata{
				Inputs:  []backends.TensorSpec{{Name: "x", DataType: backends.FP32, Shape: c.model}},
				Outputs: []backends.TensorSpec{{Name: "y", DataType: backends.FP32, Shape: c.model}},
			}
			m, v := loadMeta(t, meta, "max_batch_size: 8\n"+tensor("input", "x")+"\n"+tensor("output", "y")+
				"\nmodel_warmup [ { name: \"w\" batch_size: 2 inputs { key: \"x\" value: { data_type: TYPE_FP32 dims: "+c.dims+" zero_data: true } } } ]")
			if got := v.Sig.Inputs[0].Shape; !reflect.DeepEqual(got, append([]int64{-1}, c.seen[1:]...)) {
				t.Fatalf("metadata shape %v, want dims with the batch axis", got)
			}
			n := 1
			for _, d := range c.seen {
				n *= int(d)
			}
			x := backends.Tensor{Name: "x", DataType: backends.FP32, Shape: c.seen, Data: make([]byte, 4*n)}
			for i := range x.Data {
				x.Data[i] = byte(i)
			}
			resp, err := m.Infer(context.Background(), &runtime.InferRequest{Model: "m", Inputs: []backends.Tensor{x}})
			if err != nil {
				t.Fatal(err)
			}
			if y := resp.Outputs[0]; !reflect.DeepEqual(y.Shape, c.seen) || !reflect.DeepEqual(y.Data, x.Data) {
				t.Fatalf("y %v (%d bytes), want x's shape %v and bytes", y.Shape, len(y.Data), c.seen)
			}
			// The model's own shape is refused: requests see dims only.
			own := backends.Tensor{Name: "x", DataType: backends.FP32, Shape: c.sent, Data: x.Data}
			_, err = m.Infer(context.Background(), &runtime.InferRequest{Model: "m", Inputs: []backends.Tensor{own}})
			wantKind(t, err, runtime.KindInvalidArgument, "x")
		})
	}
}

// A reshape belongs to its input or its output, even where a graph output
// bears an input's name; and an output that does not hold its reshape's
// elements is an error, not an answer whose shape its data does not fill.
func TestTritonReshapeEdges(t *testing.T) {
	run := func(m *runtime.Manager, shape ...int64) (*runtime.InferResponse, error) {
		x := backends.Tensor{Name: "x", DataType: backends.FP32, Shape: shape, Data: make([]byte, 4*backends.NumElements(shape))}
		return m.Infer(context.Background(), &runtime.InferRequest{Model: "m", Inputs: []backends.Tensor{x}})
	}
	t.Run("an output named as the input", func(t *testing.T) {
		meta := backends.Metadata{
			Inputs:  []backends.TensorSpec{{Name: "x", DataType: backends.FP32, Shape: []int64{-1}}},
			Outputs: []backends.TensorSpec{{Name: "x", DataType: backends.FP32, Shape: []int64{-1}}},
		}
		m, _ := loadMeta(t, meta, `max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 1 ] reshape { shape: [ ] } } ]`)
		resp, err := run(m, 3, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Outputs[0].Shape; !reflect.DeepEqual(got, []int64{3}) {
			t.Fatalf("output x has shape %v, want the model's own [3]: only the input is reshaped", got)
		}
	})
	t.Run("an output that does not fit its reshape", func(t *testing.T) {
		meta := backends.Metadata{
			Inputs:  []backends.TensorSpec{{Name: "x", DataType: backends.FP32, Shape: []int64{-1, -1}}},
			Outputs: []backends.TensorSpec{{Name: "y", DataType: backends.FP32, Shape: []int64{-1, -1}}},
		}
		m, _ := loadMeta(t, meta, `max_batch_size: 8
output [ { name: "y" data_type: TYPE_FP32 dims: [ 1, 3 ] reshape { shape: [ 3 ] } } ]`)
		_, err := run(m, 2, 4) // the fake answers y as [2, 4]
		wantKind(t, err, runtime.KindInternal, `output "y" has shape [2 4], which the config's reshape [3] does not fit`)
	})
}

// A config.pbtxt that lists some of a model's outputs serves only those,
// as Triton does: the others are not in the metadata, not in answers, and
// asking for one is an unknown output.
func TestTritonConfigListsSomeOutputs(t *testing.T) {
	spec := func(name string) backends.TensorSpec {
		return backends.TensorSpec{Name: name, DataType: backends.FP32, Shape: []int64{-1, 4}}
	}
	meta := backends.Metadata{Inputs: []backends.TensorSpec{spec("a"), spec("b")}, Outputs: []backends.TensorSpec{spec("y"), spec("z")}}
	m, v := loadMeta(t, meta, `max_batch_size: 8
output [ { name: "z" data_type: TYPE_FP32 dims: [ 4 ] } ]`)
	if len(v.Sig.Outputs) != 1 || v.Sig.Outputs[0].Name != "z" {
		t.Fatalf("outputs %v, want z alone", v.Sig.Outputs)
	}
	a, b := rows(2), rows(2)
	a.Name, b.Name = "a", "b"
	b.Data[0] = 7 // z echoes b: tell them apart
	resp, err := m.Infer(context.Background(), &runtime.InferRequest{Model: "m", Inputs: []backends.Tensor{a, b}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Outputs) != 1 || resp.Outputs[0].Name != "z" || resp.Outputs[0].Data[0] != 7 {
		t.Fatalf("answered %+v, want z (b's echo) alone", resp.Outputs)
	}
	_, err = m.Infer(context.Background(), &runtime.InferRequest{Model: "m", Inputs: []backends.Tensor{a, b}, Outputs: []string{"y"}})
	wantKind(t, err, runtime.KindInvalidArgument, `"y"`)
}

func TestYAMLWarmupRandomData(t *testing.T) {
	repo := t.TempDir()
	writeFake(t, repo, "m", `max_batch_size: 4
warmup:
  - {name: r, batch_size: 4, inputs: {x: {data_type: FP32, dims: [4], data: random}}}
`, 1)
	fake := backendtest.New(backendtest.Options{})
	m := fakeManager(t, repo, fake)
	if err := m.Load(context.Background(), "m"); err != nil {
		t.Fatal(err)
	}
	if fake.Runs() != 1 {
		t.Fatalf("%d runs, want the one warmup run", fake.Runs())
	}
	// A failing warmup keeps the model from READY.
	fake.FailRuns(os.ErrInvalid)
	err := m.Load(context.Background(), "m")
	if err == nil || !strings.Contains(err.Error(), `warmup sample "r" on instance 0`) {
		t.Fatalf("reload with failing runs: %v, want the warmup failure", err)
	}
}
