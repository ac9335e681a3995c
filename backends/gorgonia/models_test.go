package gorgonia

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/modelgen"
)

// demoModel is a modelgen model with what a test needs to feed it.
type demoModel struct {
	name    string
	meta    backends.Metadata
	onnx    func() ([]byte, error)
	forward func(x []float32, batch int) []float32
	row     int // input elements per batch row
}

func demoModels() []demoModel {
	small, large, cnn := modelgen.MLPSmall(), modelgen.MLPLarge(), modelgen.NewCNN(modelgen.CNNSeed)
	return []demoModel{
		{small.Name, small.Metadata(), small.ONNX, small.Forward, small.In},
		{large.Name, large.Metadata(), large.ONNX, large.Forward, large.In},
		{cnn.Name, cnn.Metadata(), cnn.ONNX, cnn.Forward, 64},
	}
}

// input is a batch of N(0,1) values shaped as the model's input.
func (d demoModel) input(batch int, seed int64) backends.Tensor {
	spec := d.meta.Inputs[0]
	shape := slices.Clone(spec.Shape)
	shape[0] = int64(batch)
	return fp32(spec.Name, shape, normals(batch*d.row, seed)...)
}

func (d demoModel) bytes(tb testing.TB) []byte {
	tb.Helper()
	b, err := d.onnx()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestDemoModels runs every demo model at batch 1, 3 and 17, twice each (the
// second run reuses the cached machine), against modelgen's reference.
func TestDemoModels(t *testing.T) {
	for _, d := range demoModels() {
		t.Run(d.name, func(t *testing.T) {
			m := load(t, New(Options{Logger: quiet}), d.name, d.bytes(t))
			if got := m.Metadata(); !reflect.DeepEqual(got, d.meta) {
				t.Fatalf("Metadata() = %v, want %v", got, d.meta)
			}
			for _, batch := range []int{1, 3, 17} {
				for pass := range 2 {
					in := d.input(batch, int64(batch*10+pass))
					out := run(t, m, in)
					want := d.forward(bytesF32(in.Data), batch)
					checkOutput(t, fmt.Sprintf("batch %d pass %d", batch, pass), out, d.meta.Outputs[0], batch, want)
				}
			}
		})
	}
}

// checkOutput checks a one-output result: name, datatype, shape (the
// declared one with the batch axis filled in) and values within 1e-4.
func checkOutput(t *testing.T, what string, out []backends.Tensor, spec backends.TensorSpec, batch int, want []float32) {
	t.Helper()
	if len(out) != 1 {
		t.Fatalf("%s: got %d outputs", what, len(out))
	}
	shape := slices.Clone(spec.Shape)
	shape[0] = int64(batch)
	if o := out[0]; o.Name != spec.Name || o.DataType != backends.FP32 || !slices.Equal(o.Shape, shape) {
		t.Fatalf("%s: got output %s %s%v, want %s FP32%v", what, o.Name, o.DataType, o.Shape, spec.Name, shape)
	}
	if err := out[0].Check(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	checkClose(t, what, bytesF32(out[0].Data), want, 1e-4)
}

// TestMachineCache runs more batch sizes than the cache holds, returning to
// evicted ones, and checks results and the cache's bound and order.
func TestMachineCache(t *testing.T) {
	d := demoModels()[0]
	m := load(t, New(Options{MaxShapes: 2, Logger: quiet}), d.name, d.bytes(t))
	cache := m.(*Model).cache
	for i, batch := range []int{1, 2, 3, 1, 2, 2, 5, 1} {
		in := d.input(batch, int64(i))
		checkOutput(t, fmt.Sprintf("run %d batch %d", i, batch), run(t, m, in), d.meta.Outputs[0], batch, d.forward(bytesF32(in.Data), batch))
		if len(cache.machines) > 2 {
			t.Fatalf("cache holds %d machines, max 2", len(cache.machines))
		}
		if want := fmt.Sprintf("%dx16;", batch); cache.machines[0].key != want {
			t.Fatalf("most recent machine is %q, want %q", cache.machines[0].key, want)
		}
	}
}

// TestInstancesIndependent runs two instances of one model alternately with
// different batch sizes: each owns its graphs.
func TestInstancesIndependent(t *testing.T) {
	d := demoModels()[2]
	b := New(Options{Logger: quiet})
	m1, m2 := load(t, b, d.name, d.bytes(t)), load(t, b, d.name, d.bytes(t))
	if m1.(*Model).prog == m2.(*Model).prog {
		t.Fatal("instances share a program")
	}
	for i := range 3 {
		for j, m := range []backends.Model{m1, m2} {
			batch := 2 + i + j
			in := d.input(batch, int64(10*i+j))
			checkOutput(t, fmt.Sprintf("instance %d run %d", j, i), run(t, m, in), d.meta.Outputs[0], batch, d.forward(bytesF32(in.Data), batch))
		}
	}
}

// TestNameAndAvailable covers the Backend basics.
func TestNameAndAvailable(t *testing.T) {
	b := New(Options{})
	if b.Name() != "gorgonia" {
		t.Errorf("Name() = %q", b.Name())
	}
	if err := b.Available(); err != nil {
		t.Errorf("Available() = %v", err)
	}
	if len(SupportedOps()) < 25 {
		t.Errorf("SupportedOps() = %v", SupportedOps())
	}
}

// TestConcurrentInstances loads and runs instances on several goroutines at
// once, as the runtime's workers do; under -race it checks that instances
// share nothing mutable.
func TestConcurrentInstances(t *testing.T) {
	b := New(Options{Logger: quiet})
	models := demoModels()
	paths := make([]string, len(models))
	for i, d := range models {
		paths[i] = writeModel(t, d.name, d.bytes(t))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		d, path := models[w%2*2], paths[w%2*2] // mlp-small and cnn
		wg.Go(func() {
			m, err := loadPath(b, d.name, path)
			if err != nil {
				errs <- err
				return
			}
			defer m.Close()
			for i := range 6 {
				batch := 1 + (i+w)%4
				in := d.input(batch, int64(w*100+i))
				out, err := m.Run(context.Background(), []backends.Tensor{in})
				if err != nil {
					errs <- err
					return
				}
				want := d.forward(bytesF32(in.Data), batch)
				got := bytesF32(out[0].Data)
				for j := range want {
					if math.Abs(float64(got[j]-want[j])) > 1e-4 {
						errs <- fmt.Errorf("worker %d run %d: element %d = %v, want %v", w, i, j, got[j], want[j])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestOutputsConsumedLater has an output (h) that a later node consumes as
// its last reader, which gorgonia may then overwrite in place, and two
// outputs of one node (y, y2): each comes back intact and separate.
func TestOutputsConsumedLater(t *testing.T) {
	g := newTestGraph().input("x", -1, 4).input("z", -1, 4).output("h", -1, 4).output("y", -1, 4).output("y2", -1, 4).
		node("Relu", []string{"x"}, []string{"h"}).node("Add", []string{"h", "z"}, []string{"s"}).
		node("Relu", []string{"s"}, []string{"y"}).node("Identity", []string{"y"}, []string{"y2"})
	m := load(t, New(Options{Logger: quiet}), "multi-out", g.bytes(t))
	for _, batch := range []int{1, 2, 2} {
		x, z := normals(4*batch, int64(batch)), normals(4*batch, int64(batch+7))
		h, y := make([]float32, len(x)), make([]float32, len(x))
		for i := range x {
			h[i] = max(x[i], 0)
			y[i] = max(h[i]+z[i], 0)
		}
		shape := []int64{int64(batch), 4}
		out := run(t, m, fp32("x", shape, x...), fp32("z", shape, z...))
		for i, want := range [][]float32{h, y, y} {
			checkClose(t, fmt.Sprintf("batch %d output %s", batch, out[i].Name), bytesF32(out[i].Data), want, 0)
		}
		if &out[1].Data[0] == &out[2].Data[0] {
			t.Fatal("outputs y and y2 share memory")
		}
	}
}
