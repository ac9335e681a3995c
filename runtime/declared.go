package runtime

import (
	"fmt"
	"slices"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

// declare checks the tensors a config declares (a Triton config.pbtxt's
// input and output) against the model file's own, and narrows the
// signature to them: a declared size where the model has a dynamic axis
// becomes the size requests must have. A declared tensor the model lacks,
// or one whose datatype, rank or fixed sizes differ, is an error naming
// the field, so the model is UNAVAILABLE rather than served against a
// signature that is not its own. Tensors the config leaves out keep the
// model's. Call it once MaxBatchSize is resolved.
func (s *Signature) declare(inputs, outputs []config.TensorConfig) error {
	var err error
	if s.Inputs, err = s.narrow("input", s.Inputs, inputs); err != nil {
		return err
	}
	all := s.Outputs
	if s.Outputs, err = s.narrow("output", all, outputs); err != nil || len(outputs) == 0 {
		return err
	}
	s.keepDeclaredOutputs(all, outputs)
	return nil
}

// keepDeclaredOutputs narrows the outputs to those the config declares, as
// Triton serves only a config's outputs when it lists any: the others are
// neither in the metadata nor in answers (the model still computes them).
// OutputPositions then maps each kept output to its place in a run's.
func (s *Signature) keepDeclaredOutputs(all []backends.TensorSpec, declared []config.TensorConfig) {
	if len(declared) == len(all) {
		return
	}
	kept := make([]backends.TensorSpec, 0, len(declared))
	for i, o := range s.Outputs {
		if slices.ContainsFunc(declared, func(d config.TensorConfig) bool { return d.Name == o.Name }) {
			kept = append(kept, o)
			s.OutputPositions = append(s.OutputPositions, i)
		}
	}
	s.Outputs = kept
}

func (s *Signature) narrow(what string, specs []backends.TensorSpec, declared []config.TensorConfig) ([]backends.TensorSpec, error) {
	if len(declared) == 0 {
		return specs, nil
	}
	out := slices.Clone(specs)
	for i, d := range declared {
		field := fmt.Sprintf("%s[%d]", what, i)
		bad := func(format string, args ...any) error {
			return &config.FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
		}
		at := slices.IndexFunc(out, func(t backends.TensorSpec) bool { return t.Name == d.Name })
		if at < 0 {
			return nil, bad("the model has no %s %q (its %ss: %s)", what, d.Name, what, specNames(specs))
		}
		model := out[at]
		if dt, ok := backends.ParseDataType(d.DataType); !ok || dt != model.DataType {
			return nil, bad("%s %q is %s in the config but %s in the model", what, d.Name, d.DataType, model.DataType)
		}
		own := d.Shape // the model's own shape of it, without the batch axis
		if d.Reshaped {
			own = d.Reshape
		}
		shape, ok := narrowShape(model.Shape, s.withBatch(own))
		if !ok {
			if d.Reshaped {
				return nil, bad("%s %q has reshape %v in the config but shape %v in the model%s", what, d.Name, d.Reshape, model.Shape, batchNote(s.MaxBatchSize))
			}
			return nil, bad("%s %q has dims %v in the config but shape %v in the model%s", what, d.Name, d.Shape, model.Shape, batchNote(s.MaxBatchSize))
		}
		model.Shape = shape
		if d.Reshaped { // requests and answers see dims (view.go)
			reshapes := &s.InputReshapes
			if what == "output" {
				reshapes = &s.OutputReshapes
			}
			if *reshapes == nil {
				*reshapes = map[string]Reshape{}
			}
			(*reshapes)[d.Name] = Reshape{Seen: slices.Clone(d.Shape), Own: slices.Clone(d.Reshape)}
			model.Shape = s.withBatch(d.Shape)
		}
		out[at] = model
	}
	return out, nil
}

// withBatch is dims with the batch axis in front when the model batches.
func (s *Signature) withBatch(dims []int64) []int64 {
	if s.MaxBatchSize > 0 {
		return append([]int64{-1}, dims...)
	}
	return dims
}

// narrowShape merges a model's shape with a declared one of the same rank:
// a declared size fills a dynamic axis; a fixed axis must match or be
// declared dynamic.
func narrowShape(model, declared []int64) ([]int64, bool) {
	if len(model) != len(declared) {
		return nil, false
	}
	out := slices.Clone(model)
	for i, d := range declared {
		switch {
		case model[i] == -1:
			out[i] = d
		case d != -1 && d != model[i]:
			return nil, false
		}
	}
	return out, true
}

func batchNote(mbs int) string {
	if mbs > 0 {
		return fmt.Sprintf(" (max_batch_size %d: dims leave out the batch axis)", mbs)
	}
	return ""
}
