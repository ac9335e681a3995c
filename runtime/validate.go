package runtime

import (
	"bytes"
	"strings"

	"github.com/tiffin-ml/tiffin/backends"
)

// Signature is what a model version accepts and returns, with its batching
// limit. It is fixed once the version is READY and read without locks.
type Signature struct {
	Inputs  []backends.TensorSpec
	Outputs []backends.TensorSpec
	// MaxBatchSize > 0: the first axis of every input and output is the
	// batch axis, and a request may carry up to this many items.
	MaxBatchSize int
	// NoNULInStrings: the backend cannot take a BYTES element holding a
	// NUL byte (backends.Description).
	NoNULInStrings bool
	// InputReshapes and OutputReshapes hold, by name, the tensors a
	// config reshapes: Inputs and Outputs give the shapes requests see,
	// the model runs on its own (view.go). Two maps: a graph output
	// may bear an input's name.
	InputReshapes, OutputReshapes map[string]Reshape
	// OutputPositions, when not nil, is where each of Outputs is among a
	// run's outputs: a config.pbtxt that lists outputs serves only those
	// (declared.go).
	OutputPositions []int
}

// Validate checks a request against the signature and puts its inputs in
// signature order. It returns the request's item count: its batch size, or 1
// for a model that does not batch. Errors are KindInvalidArgument and name
// the input and the problem.
func (s *Signature) Validate(model string, req *InferRequest) (int64, error) {
	ordered, err := s.orderInputs(model, req.Inputs)
	if err != nil {
		return 0, err
	}
	rows := int64(1)
	for i := range ordered {
		n, err := s.checkInput(model, &s.Inputs[i], &ordered[i])
		if err != nil {
			return 0, err
		}
		if s.MaxBatchSize > 0 {
			if i > 0 && n != rows {
				return 0, Errorf(KindInvalidArgument, "input %q has batch size %d but input %q has %d; all inputs must share the batch size",
					ordered[i].Name, n, ordered[0].Name, rows)
			}
			rows = n
		}
	}
	if err := s.checkOutputs(model, req.Outputs); err != nil {
		return 0, err
	}
	req.Inputs = ordered
	return rows, nil
}

// CheckShapes checks the inputs' names, datatypes and shapes against the
// signature before their data is decoded: a front end calls it with the
// tensors' headers only (no data), so every element count it then
// allocates for is one the model takes.
func (s *Signature) CheckShapes(model string, inputs []backends.Tensor) error {
	ordered, err := s.orderInputs(model, inputs)
	if err != nil {
		return err
	}
	for i := range ordered {
		if _, err := s.checkShape(model, &s.Inputs[i], &ordered[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Signature) orderInputs(model string, in []backends.Tensor) ([]backends.Tensor, error) {
	if s.inOrder(in) {
		return in, nil // the usual case, without a copy
	}
	ordered := make([]backends.Tensor, len(s.Inputs))
	seen := make([]bool, len(s.Inputs))
	for _, t := range in {
		i := s.inputIndex(t.Name)
		if i < 0 {
			return nil, Errorf(KindInvalidArgument, "unknown input %q for model %s (inputs: %s)", t.Name, model, s.inputNames())
		}
		if seen[i] {
			return nil, Errorf(KindInvalidArgument, "input %q given twice", t.Name)
		}
		seen[i] = true
		ordered[i] = t
	}
	for i, ok := range seen {
		if !ok {
			return nil, Errorf(KindInvalidArgument, "missing input %q for model %s (inputs: %s)", s.Inputs[i].Name, model, s.inputNames())
		}
	}
	return ordered, nil
}

// inOrder reports whether in names the model's inputs once each, in order.
func (s *Signature) inOrder(in []backends.Tensor) bool {
	if len(in) != len(s.Inputs) {
		return false
	}
	for i := range in {
		if in[i].Name != s.Inputs[i].Name {
			return false
		}
	}
	return true
}

// checkInput returns the input's batch size (its first axis) when the
// model batches.
func (s *Signature) checkInput(model string, spec *backends.TensorSpec, t *backends.Tensor) (int64, error) {
	rows, err := s.checkShape(model, spec, t)
	if err != nil {
		return 0, err
	}
	if err := t.Check(); err != nil {
		return 0, Errorf(KindInvalidArgument, "%v", err)
	}
	if s.NoNULInStrings {
		for i, e := range t.Strings {
			if bytes.IndexByte(e, 0) >= 0 {
				return 0, Errorf(KindInvalidArgument, "input %q: element %d holds a NUL byte, which model %s's backend cannot take", t.Name, i, model)
			}
		}
	}
	return rows, nil
}

// checkShape checks an input's datatype and shape, not its data.
func (s *Signature) checkShape(model string, spec *backends.TensorSpec, t *backends.Tensor) (int64, error) {
	if t.DataType != spec.DataType {
		return 0, Errorf(KindInvalidArgument, "input %q has datatype %s, model %s expects %s", t.Name, t.DataType, model, spec.DataType)
	}
	if len(t.Shape) != len(spec.Shape) {
		return 0, Errorf(KindInvalidArgument, "input %q has shape %v, model %s expects %v", t.Name, t.Shape, model, spec.Shape)
	}
	for axis, d := range t.Shape {
		want := spec.Shape[axis]
		if d < 0 || (want >= 0 && d != want) {
			return 0, Errorf(KindInvalidArgument, "input %q has shape %v, model %s expects %v", t.Name, t.Shape, model, spec.Shape)
		}
	}
	var rows int64
	if s.MaxBatchSize > 0 {
		rows = t.Shape[0]
		if rows < 1 || rows > int64(s.MaxBatchSize) {
			return 0, Errorf(KindInvalidArgument, "input %q has batch size %d; model %s takes 1 to %d", t.Name, rows, model, s.MaxBatchSize)
		}
	}
	return rows, nil
}

func (s *Signature) checkOutputs(model string, names []string) error {
	for i, n := range names {
		if s.outputIndex(n) < 0 {
			return Errorf(KindInvalidArgument, "unknown output %q for model %s (outputs: %s)", n, model, s.outputNames())
		}
		for _, m := range names[:i] {
			if m == n {
				return Errorf(KindInvalidArgument, "output %q requested twice", n)
			}
		}
	}
	return nil
}

func (s *Signature) inputIndex(name string) int {
	for i := range s.Inputs {
		if s.Inputs[i].Name == name {
			return i
		}
	}
	return -1
}

func (s *Signature) outputIndex(name string) int {
	for i := range s.Outputs {
		if s.Outputs[i].Name == name {
			return i
		}
	}
	return -1
}

func (s *Signature) inputNames() string  { return specNames(s.Inputs) }
func (s *Signature) outputNames() string { return specNames(s.Outputs) }

func specNames(specs []backends.TensorSpec) string {
	names := make([]string, len(specs))
	for i := range specs {
		names[i] = specs[i].Name
	}
	return strings.Join(names, ", ")
}
