package gorgonia

import (
	"context"
	"fmt"

	"github.com/tiffin-ml/tiffin/backends"
)

// Model is one loaded instance. It owns its program and its compiled graphs;
// nothing mutable is shared with other instances. It relies on the
// backends.Model threading contract: its calls never overlap, and it
// keeps no per-thread state (the backend is not an io.Closer, so nothing
// but the runtime closes it).
type Model struct {
	prog   *program
	cache  *machineCache
	keyBuf []byte // scratch for shapeKey
	closed bool
}

var _ backends.Model = (*Model)(nil)

// Metadata returns the model's inputs and outputs, as the ONNX graph
// declares them (dynamic axes -1). Callers must not modify it.
func (m *Model) Metadata() backends.Metadata { return m.prog.meta }

// Run executes one batch: one tensor per metadata input, in order. It uses
// the compiled graph for these input shapes (and integer input values, which
// are build-time constants), building it (and evicting the least recently
// used one when the cache is full) the first time. A panic from gorgonia
// while building or binding comes back as an error.
func (m *Model) Run(ctx context.Context, inputs []backends.Tensor) (outs []backends.Tensor, err error) {
	if m.closed {
		return nil, fmt.Errorf("model %q: run after close", m.prog.model)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("model %q: %w", m.prog.model, err)
	}
	if err := m.checkInputs(inputs); err != nil {
		return nil, fmt.Errorf("model %q: %w", m.prog.model, err)
	}
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, fmt.Errorf("model %q: gorgonia panicked: %v", m.prog.model, r)
		}
	}()
	mach, err := m.machineFor(inputs)
	if err != nil {
		return nil, err
	}
	outs, err = mach.run(inputs, m.prog.meta.Outputs)
	if err != nil {
		return nil, fmt.Errorf("model %q: inputs %s: %w", m.prog.model, mach.key, err)
	}
	return outs, nil
}

// machineFor returns the compiled graph for the inputs' shapes and integer
// values.
func (m *Model) machineFor(inputs []backends.Tensor) (*machine, error) {
	m.keyBuf = shapeKey(m.keyBuf, inputs)
	if mach := m.cache.get(m.keyBuf); mach != nil {
		return mach, nil
	}
	mach, err := buildGraph(m.prog, inputs)
	if err != nil {
		return nil, err
	}
	mach.key = string(m.keyBuf)
	if old := m.cache.put(mach); old != nil {
		old.close()
	}
	return mach, nil
}

// checkInputs compares the inputs with the metadata, so that a bad request
// gets a clear error before any graph is built for it. An integer input may
// hold at most maxIntElems values: each distinct value builds a graph.
func (m *Model) checkInputs(inputs []backends.Tensor) error {
	specs := m.prog.meta.Inputs
	if len(inputs) != len(specs) {
		return fmt.Errorf("got %d inputs, model has %d", len(inputs), len(specs))
	}
	for i := range inputs {
		t, spec := &inputs[i], specs[i]
		if t.Name != "" && t.Name != spec.Name {
			return fmt.Errorf("input %d is %q, model expects %q", i, t.Name, spec.Name)
		}
		if t.DataType != spec.DataType {
			return fmt.Errorf("input %q: datatype %s, model expects %s", spec.Name, t.DataType, spec.DataType)
		}
		if !fitsInt64(t.Shape, spec.Shape) {
			return fmt.Errorf("input %q: shape %v does not fit model shape %v", spec.Name, t.Shape, spec.Shape)
		}
		if err := t.Check(); err != nil {
			return fmt.Errorf("input %w", err)
		}
		if n := t.NumElements(); isIntType(spec.DataType) && n > maxIntElems {
			return fmt.Errorf("input %q: %s of shape %v holds %d values, more than the %d the gorgonia backend takes as a build-time constant (%s)",
				spec.Name, spec.DataType, t.Shape, n, maxIntElems, intInputAdvice)
		}
	}
	return nil
}

// maxIntElems bounds the values of one integer input. Integer inputs are
// build-time constants, a graph per distinct value, which suits shapes,
// axes, positions and small index sets, not token ids.
const maxIntElems = 4096

// intInputAdvice ends the refusals of integer inputs too large to be
// build-time constants.
const intInputAdvice = "integer inputs are, a graph per distinct value: fine for shapes, positions and small index sets; serve models that take token ids with onnxruntime"

func fitsInt64(shape, want []int64) bool {
	if len(shape) != len(want) {
		return false
	}
	for i, d := range want {
		if shape[i] < 0 || shape[i] > 1<<31 || (d >= 0 && shape[i] != d) {
			return false
		}
	}
	return true
}

// Close drops the compiled graphs. Run fails afterwards; Close again does
// nothing.
func (m *Model) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	return m.cache.closeAll()
}
