package runtime

import (
	"slices"

	"github.com/tiffin-ml/tiffin/backends"
)

// Reshape is one tensor a config reshapes (Triton's reshape): requests and
// answers see it as Seen, the model runs on it as Own, both without the
// batch axis. Both are fixed and hold as many elements, so the same bytes,
// row-major, are either: a reshape only relabels the axes.
type Reshape struct {
	Seen, Own []int64
}

// view turns a run's tensors between what requests see and what the model
// runs on: it relabels reshaped tensors, and keeps only the outputs a
// config.pbtxt lists when it lists some. A worker holds one when its
// version's signature needs it; it is set before the worker first runs and
// read only there. Runs take and give tensors in signature order, so it
// goes by position.
type view struct {
	inputs, outputs []*Reshape // by position among Sig's; nil: not reshaped
	picks           []int      // Sig.OutputPositions
	batched         bool
}

func newView(sig *Signature) *view {
	if len(sig.InputReshapes) == 0 && len(sig.OutputReshapes) == 0 && sig.OutputPositions == nil {
		return nil
	}
	at := func(specs []backends.TensorSpec, reshapes map[string]Reshape) []*Reshape {
		out := make([]*Reshape, len(specs))
		for i, s := range specs {
			if rs, ok := reshapes[s.Name]; ok {
				out[i] = &rs
			}
		}
		return out
	}
	return &view{inputs: at(sig.Inputs, sig.InputReshapes), outputs: at(sig.Outputs, sig.OutputReshapes),
		picks: sig.OutputPositions, batched: sig.MaxBatchSize > 0}
}

// toModel returns inputs with the reshaped ones in the model's shapes; the
// caller's tensors are left as they are.
func (r *view) toModel(inputs []backends.Tensor) []backends.Tensor {
	out := slices.Clone(inputs)
	for i := range min(len(out), len(r.inputs)) {
		if rs := r.inputs[i]; rs != nil {
			out[i].Shape = r.relabel(out[i].Shape, rs.Own)
		}
	}
	return out
}

// fromModel returns a run's outputs as answers carry them: those the
// config lists, relabelled to the shapes requests see. An output that does
// not hold the elements of its reshape (a model whose own axes are
// dynamic, pinned by the reshape) is an error: its answer would carry a
// shape its data does not fill.
func (r *view) fromModel(outputs []backends.Tensor) ([]backends.Tensor, error) {
	if r.picks != nil {
		kept := make([]backends.Tensor, 0, len(r.picks))
		for _, p := range r.picks {
			if p < len(outputs) {
				kept = append(kept, outputs[p])
			}
		}
		outputs = kept
	}
	for i := range min(len(outputs), len(r.outputs)) {
		rs := r.outputs[i]
		if rs == nil {
			continue
		}
		shape := r.relabel(outputs[i].Shape, rs.Seen)
		if got := backends.NumElements(outputs[i].Shape); got != backends.NumElements(shape) {
			return nil, Errorf(KindInternal, "output %q has shape %v, which the config's reshape %v does not fit", outputs[i].Name, outputs[i].Shape, rs.Own)
		}
		outputs[i].Shape = shape
	}
	return outputs, nil
}

// relabel is shape with its item axes replaced by to, the batch axis kept.
func (r *view) relabel(shape, to []int64) []int64 {
	if r.batched && len(shape) > 0 {
		return append([]int64{shape[0]}, to...)
	}
	return slices.Clone(to)
}
