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

	// mu serialises Run and Close: Backend.Close may close an instance
	// from another goroutine than its worker's.
	mu      sync.Mutex
	session *ort.DynamicAdvancedSession // nil once closed
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
	defer destroyAll(ins)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.name, err)
	}
	outs, err := m.outputValues(inputs)
	defer destroyAll(outs) // ORT fills in the nil ones during Run
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.name, err)
	}
	if err := m.session.Run(ins, outs); err != nil {
		return nil, fmt.Errorf("%s: running: %w", m.name, err)
	}
	results, err := m.results(outs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.name, err)
	}
	return results, nil
}

// checkInputs compares the inputs with the metadata, so that a bad request
// gets a clear error rather than ORT's.
func (m *Model) checkInputs(inputs []backends.Tensor) error {
	if len(inputs) != len(m.meta.Inputs) {
		return fmt.Errorf("got %d inputs, model has %d", len(inputs), len(m.meta.Inputs))
	}
	for i := range inputs {
		if err := checkInput(i, m.meta.Inputs[i], &inputs[i]); err != nil {
			return err
		}
	}
	return nil
}

func checkInput(i int, spec backends.TensorSpec, t *backends.Tensor) error {
	if t.Name != "" && t.Name != spec.Name {
		return fmt.Errorf("input %d is %q, model expects %q", i, t.Name, spec.Name)
	}
	if t.DataType != spec.DataType {
		return fmt.Errorf("input %q: datatype %s, model expects %s", spec.Name, t.DataType, spec.DataType)
	}
	if !shapeFits(t.Shape, spec.Shape) {
		return fmt.Errorf("input %q: shape %v does not fit model shape %v", spec.Name, t.Shape, spec.Shape)
	}
	if len(t.Shape) == 0 {
		return fmt.Errorf("input %q: scalar (rank 0) inputs are not supported by the onnxruntime backend", spec.Name)
	}
	if err := t.Check(); err != nil {
		return fmt.Errorf("input %w", err)
	}
	return nil
}

// shapeFits reports whether shape has the rank of want and matches each of
// its fixed axes.
func shapeFits(shape, want []int64) bool {
	if len(shape) != len(want) {
		return false
	}
	for i, d := range want {
		if d >= 0 && shape[i] != d {
			return false
		}
	}
	return true
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
