package runtime

import (
	"context"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
)

// job is one request on its way from Infer to a worker and back.
type job struct {
	ctx      context.Context
	req      *InferRequest
	rows     int64 // items on the batch axis; 1 when the model does not batch
	enqueued time.Time
	done     chan jobResult // buffered 1, so a worker never blocks on it
}

type jobResult struct {
	outputs []backends.Tensor // every model output, in signature order
	err     error
}

func (j *job) finish(outputs []backends.Tensor, err error) {
	j.done <- jobResult{outputs: outputs, err: err}
}

// concatInputs joins the jobs' inputs along the batch axis. Validation and
// batch formation guarantee that the jobs agree on every other axis.
func concatInputs(jobs []*job) []backends.Tensor {
	if len(jobs) == 1 {
		return jobs[0].req.Inputs
	}
	first := jobs[0].req.Inputs
	out := make([]backends.Tensor, len(first))
	for i := range first {
		t := backends.Tensor{Name: first[i].Name, DataType: first[i].DataType}
		t.Shape = append([]int64(nil), first[i].Shape...)
		t.Shape[0] = 0
		size := 0
		for _, j := range jobs {
			size += len(j.req.Inputs[i].Data)
			t.Shape[0] += j.req.Inputs[i].Shape[0]
		}
		if t.DataType == backends.Bytes {
			for _, j := range jobs {
				t.Strings = append(t.Strings, j.req.Inputs[i].Strings...)
			}
		} else {
			t.Data = make([]byte, 0, size)
			for _, j := range jobs {
				t.Data = append(t.Data, j.req.Inputs[i].Data...)
			}
		}
		out[i] = t
	}
	return out
}

// scatterOutputs splits batched outputs back to the jobs by their offsets on
// the batch axis. The pieces share the backend's buffers, which are fresh Go
// memory that nothing else writes.
func scatterOutputs(jobs []*job, outputs []backends.Tensor) [][]backends.Tensor {
	per := make([][]backends.Tensor, len(jobs))
	if len(jobs) == 1 {
		per[0] = outputs
		return per
	}
	for k := range jobs {
		per[k] = make([]backends.Tensor, len(outputs))
	}
	for i, o := range outputs {
		total := o.Shape[0]
		var offset int64
		for k, j := range jobs {
			piece := backends.Tensor{Name: o.Name, DataType: o.DataType}
			piece.Shape = append([]int64(nil), o.Shape...)
			piece.Shape[0] = j.rows
			if o.DataType == backends.Bytes {
				per0 := int64(len(o.Strings)) / total
				piece.Strings = o.Strings[offset*per0 : (offset+j.rows)*per0]
			} else {
				row := int64(len(o.Data)) / total
				piece.Data = o.Data[offset*row : (offset+j.rows)*row : (offset+j.rows)*row]
			}
			per[k][i] = piece
			offset += j.rows
		}
	}
	return per
}

// selectOutputs keeps the outputs the request named, in its order; all of
// them when it named none.
func selectOutputs(sig *Signature, names []string, outputs []backends.Tensor) []backends.Tensor {
	if len(names) == 0 {
		return outputs
	}
	sel := make([]backends.Tensor, 0, len(names))
	for _, n := range names {
		sel = append(sel, outputs[sig.outputIndex(n)])
	}
	return sel
}
