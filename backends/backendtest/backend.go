package backendtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
)

// Name is the backend's name unless Options.Name says otherwise.
const Name = "fake"

// Platform is the platform name the fake answers to and reports.
const Platform = "fake_platform"

// Options configure a fake backend. The zero value is a backend named
// "fake" whose models take FP32 "x" of shape [-1, 4] and return it as "y".
type Options struct {
	Name     string
	Metadata backends.Metadata // what every model reports; default DefaultMetadata()
	// ModelFile is the file it loads from a version folder; default
	// ModelFile ("model.onnx").
	ModelFile string
	// AutoOrder is its place in `backend: auto`; default 100, after the
	// real backends.
	AutoOrder int
}

// DefaultMetadata is one batching FP32 input "x" [-1, 4] and one output
// "y" of the same shape.
func DefaultMetadata() backends.Metadata {
	return backends.Metadata{
		Inputs:  []backends.TensorSpec{{Name: "x", DataType: backends.FP32, Shape: []int64{-1, 4}}},
		Outputs: []backends.TensorSpec{{Name: "y", DataType: backends.FP32, Shape: []int64{-1, 4}}},
	}
}

// Backend is the fake engine. Its faults can be changed while models run;
// every method is safe for concurrent use.
type Backend struct {
	name string
	meta backends.Metadata
	desc backends.Description

	mu          sync.Mutex    // protects: the fields below it
	unavailable error         // what Available says
	loadErr     error         // Load fails with it
	loadPanic   any           // Load panics with it
	latency     time.Duration // each Run sleeps this long
	runErr      error         // Run fails with it
	runPanic    any           // Run panics with it
	extraRows   int64         // Run returns this many rows more than it got

	loads, runs, closes, open atomic.Int64
}

var _ backends.Backend = (*Backend)(nil)

// New returns a fake backend with no faults.
func New(o Options) *Backend {
	if o.Name == "" {
		o.Name = Name
	}
	if len(o.Metadata.Inputs) == 0 {
		o.Metadata = DefaultMetadata()
	}
	if o.ModelFile == "" {
		o.ModelFile = ModelFile
	}
	if o.AutoOrder == 0 {
		o.AutoOrder = 100
	}
	return &Backend{name: o.Name, meta: o.Metadata, desc: backends.Description{
		Platforms: []string{Platform}, ModelFiles: []string{o.ModelFile}, AutoOrder: o.AutoOrder}}
}

// Describe returns the platform, model file and auto order of Options.
func (b *Backend) Describe() backends.Description { return b.desc }

// Name returns the name given in Options.
func (b *Backend) Name() string { return b.name }

// Available returns what SetUnavailable last set (nil at first).
func (b *Backend) Available() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.unavailable
}

// SetUnavailable makes Available (and Load) fail with err; nil undoes it.
func (b *Backend) SetUnavailable(err error) { b.set(func() { b.unavailable = err }) }

// FailLoads makes every later Load fail with err; nil undoes it.
func (b *Backend) FailLoads(err error) { b.set(func() { b.loadErr = err }) }

// PanicLoads makes every later Load panic with v; nil undoes it.
func (b *Backend) PanicLoads(v any) { b.set(func() { b.loadPanic = v }) }

// SetLatency makes every later Run take at least d.
func (b *Backend) SetLatency(d time.Duration) { b.set(func() { b.latency = d }) }

// FailRuns makes every later Run fail with err; nil undoes it.
func (b *Backend) FailRuns(err error) { b.set(func() { b.runErr = err }) }

// PanicRuns makes every later Run panic with v; nil undoes it.
func (b *Backend) PanicRuns(v any) { b.set(func() { b.runPanic = v }) }

// WrongBatchAxis makes every later Run return n rows more than it was given
// on the first axis (n = 0 undoes it): a backend that breaks the batch.
func (b *Backend) WrongBatchAxis(n int64) { b.set(func() { b.extraRows = n }) }

func (b *Backend) set(f func()) {
	b.mu.Lock()
	f()
	b.mu.Unlock()
}

// Loads counts successful loads; Runs counts Run calls; Closes counts
// closed models; Open is Loads minus Closes.
func (b *Backend) Loads() int64  { return b.loads.Load() }
func (b *Backend) Runs() int64   { return b.runs.Load() }
func (b *Backend) Closes() int64 { return b.closes.Load() }
func (b *Backend) Open() int64   { return b.open.Load() }

// Load checks that the model file exists (its contents are ignored) and
// returns a model that copies inputs to outputs.
func (b *Backend) Load(ctx context.Context, spec backends.LoadSpec) (backends.Model, error) {
	b.mu.Lock()
	unavailable, loadErr, loadPanic := b.unavailable, b.loadErr, b.loadPanic
	b.mu.Unlock()
	switch {
	case unavailable != nil:
		return nil, unavailable
	case loadPanic != nil:
		panic(loadPanic)
	case loadErr != nil:
		return nil, loadErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(spec.Path); err != nil {
		return nil, fmt.Errorf("fake backend: %w", err)
	}
	b.loads.Add(1)
	b.open.Add(1)
	return &Model{b: b, spec: spec}, nil
}

// Model is one loaded fake instance.
type Model struct {
	b      *Backend
	spec   backends.LoadSpec
	closed atomic.Bool
}

var _ backends.Model = (*Model)(nil)

// Spec is what the model was loaded with: its version, path and device.
func (m *Model) Spec() backends.LoadSpec { return m.spec }

// Metadata returns the backend's metadata.
func (m *Model) Metadata() backends.Metadata { return m.b.meta }

// Run copies input i to output i, after the injected latency and faults.
func (m *Model) Run(ctx context.Context, inputs []backends.Tensor) ([]backends.Tensor, error) {
	b := m.b
	b.runs.Add(1)
	b.mu.Lock()
	latency, runErr, runPanic, extra := b.latency, b.runErr, b.runPanic, b.extraRows
	b.mu.Unlock()
	if m.closed.Load() {
		return nil, errors.New("fake backend: run on a closed model")
	}
	if latency > 0 {
		time.Sleep(latency)
	}
	switch {
	case runPanic != nil:
		panic(runPanic)
	case runErr != nil:
		return nil, runErr
	}
	if len(inputs) != len(b.meta.Outputs) {
		return nil, fmt.Errorf("fake backend: %d inputs for %d outputs", len(inputs), len(b.meta.Outputs))
	}
	for i, in := range inputs { // as a real engine does, it runs only on its own shapes
		if i >= len(b.meta.Inputs) {
			break // as many inputs as outputs is the fake's only rule
		}
		if want := b.meta.Inputs[i].Shape; !backends.ShapeFits(in.Shape, want) {
			return nil, fmt.Errorf("fake backend: input %d has shape %v, the model's is %v", i, in.Shape, want)
		}
	}
	out := make([]backends.Tensor, len(inputs))
	for i, in := range inputs {
		out[i] = copyTensor(in, b.meta.Outputs[i].Name, extra)
	}
	return out, nil
}

// copyTensor returns in under a new name, with extra rows of zeros (or
// empty strings) appended on its first axis.
func copyTensor(in backends.Tensor, name string, extra int64) backends.Tensor {
	t := backends.Tensor{Name: name, DataType: in.DataType, Shape: append([]int64(nil), in.Shape...)}
	t.Data = append([]byte(nil), in.Data...)
	t.Strings = append([][]byte(nil), in.Strings...)
	if extra == 0 || len(t.Shape) == 0 {
		return t
	}
	rowElems := int64(1)
	for _, d := range t.Shape[1:] {
		rowElems *= d
	}
	t.Shape[0] += extra
	if in.DataType == backends.Bytes {
		t.Strings = append(t.Strings, make([][]byte, extra*rowElems)...)
	} else {
		t.Data = append(t.Data, make([]byte, extra*rowElems*int64(in.DataType.Size()))...)
	}
	return t
}

// Close closes the model once.
func (m *Model) Close() error {
	if m.closed.Swap(true) {
		return errors.New("fake backend: model closed twice")
	}
	m.b.closes.Add(1)
	m.b.open.Add(-1)
	return nil
}
