//go:build cgo

package onnx

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tiffin-ml/tiffin/backends"
)

// Model is one loaded instance: one ORT session.
type Model struct {
	name    string // instanceName, for errors
	meta    backends.Metadata
	backend *Backend // set by Load; told on Close

	// mu serialises Run and Close for the one call the backends.Model
	// contract allows from outside the instance's holder: Backend.Close at
	// server stop closes instances a timed-out shutdown left open, before
	// it destroys the environment they run in. Uncontended otherwise.
	mu          sync.Mutex
	session     *ort.DynamicAdvancedSession // nil once closed
	oursRefused bool                        // a run refused Go-allocated outputs: ORT allocates them from then on
	scalars     map[string]bool             // rank-0 inputs and outputs, [1] to the session (scalars.go)
}

var _ backends.Model = (*Model)(nil)

// Metadata returns the model's tensor inputs and outputs. Callers must not
// modify it.
func (m *Model) Metadata() backends.Metadata { return m.meta }

// Run executes one batch: one tensor per metadata input, in order, and one
// result per metadata output, in order. The results are in Go memory that
// nothing else references.
func (m *Model) Run(ctx context.Context, inputs []backends.Tensor) ([]backends.Tensor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.session == nil {
		return nil, fmt.Errorf("%s: run after close", m.name)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", m.name, err)
	}
	if err := m.checkInputs(inputs); err != nil {
		return nil, fmt.Errorf("%s: %w", m.name, err)
	}
	ins, err := m.inputValues(inputs)
	if err != nil {
		destroyAll(ins)
		return nil, fmt.Errorf("%s: %w", m.name, err)
	}
	outs, err := m.run(inputs, ins)
	// The inputs go before the outputs are read: a string tensor's
	// elements live in ORT's memory, once per element, and need not
	// overlap the outputs' Go copies.
	destroyAll(ins)
	defer destroyAll(outs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.name, err)
	}
	results, err := m.results(outs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.name, err)
	}
	return results, nil
}

// run runs the session with Go-allocated outputs where their shapes are
// known, and once more with ORT allocating them if ORT refused those (an
// output whose leading dynamic axis is not the batch axis); from then on
// ORT allocates them. The returned values are the caller's to destroy.
func (m *Model) run(inputs []backends.Tensor, ins []ort.Value) ([]ort.Value, error) {
	ours := !m.oursRefused
	outs, err := m.outputValues(inputs, ours)
	if err == nil {
		err = m.session.Run(ins, outs)
		if err != nil && ours && m.anyOurs(outs) {
			destroyAll(outs)
			if outs, err = m.outputValues(inputs, false); err == nil {
				if err = m.session.Run(ins, outs); err == nil {
					m.oursRefused = true
				}
			}
		}
		if err != nil {
			err = fmt.Errorf("running: %w", err)
		}
	}
	return outs, err
}

// anyOurs reports whether outs holds a Go-allocated output that ORT could
// have allocated itself (not a 16-bit float one).
func (m *Model) anyOurs(outs []ort.Value) bool {
	for i, v := range outs {
		if dt := m.meta.Outputs[i].DataType; v != nil && dt != backends.FP16 && dt != backends.BF16 {
			return true
		}
	}
	return false
}

// checkInputs compares the inputs with the metadata, so that a bad request
// gets a clear error rather than ORT's.
func (m *Model) checkInputs(inputs []backends.Tensor) error {
	if len(inputs) != len(m.meta.Inputs) {
		return fmt.Errorf("got %d inputs, model has %d", len(inputs), len(m.meta.Inputs))
	}
	for i := range inputs {
		if err := checkInput(i, m.meta.Inputs[i], &inputs[i], m.scalars[m.meta.Inputs[i].Name]); err != nil {
			return err
		}
	}
	return nil
}

// checkInput checks one input against its spec. A rank-0 input is taken
// only when scalar says the session was given it as [1] (scalars.go): ONNX
// Runtime reports an input of unknown rank as [] too, and onnxruntime_go
// cannot pass a rank-0 tensor.
func checkInput(i int, spec backends.TensorSpec, t *backends.Tensor, scalar bool) error {
	if t.Name != "" && t.Name != spec.Name {
		return fmt.Errorf("input %d is %q, model expects %q", i, t.Name, spec.Name)
	}
	if t.DataType != spec.DataType {
		return fmt.Errorf("input %q: datatype %s, model expects %s", spec.Name, t.DataType, spec.DataType)
	}
	if !backends.ShapeFits(t.Shape, spec.Shape) {
		return fmt.Errorf("input %q: shape %v does not fit model shape %v", spec.Name, t.Shape, spec.Shape)
	}
	if len(t.Shape) == 0 && !scalar {
		return fmt.Errorf("input %q: rank-0 tensors are not supported by the onnxruntime backend where the model does not declare a scalar", spec.Name)
	}
	if err := t.Check(); err != nil {
		return fmt.Errorf("input %w", err)
	}
	return nil
}

// Close destroys the session. Run fails afterwards; Close again does nothing.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.session == nil {
		return nil
	}
	err := m.session.Destroy()
	m.session = nil
	if m.backend != nil {
		m.backend.forget(m)
	}
	if err != nil {
		return fmt.Errorf("%s: closing: %w", m.name, err)
	}
	return nil
}

// destroyAll destroys the values that exist. onnxruntime_go can leave a
// typed nil in an output slot when converting an output fails.
func destroyAll(vals []ort.Value) {
	for _, v := range vals {
		if v != nil && !reflect.ValueOf(v).IsNil() {
			v.Destroy()
		}
	}
}
