package runtime

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/batcher"
)

// inflight is one request on its way from Infer through the batcher to the
// workers and back. The batcher may split it into parts that run in
// different batches, even on different workers at once: each part writes
// its rows at its offset, and the last one finishes it. An inflight request is
// finished exactly once, by its last part, a failed part, or a drop.
type inflight struct {
	ctx      context.Context
	req      *InferRequest // read until the request is finished, never after: its caller may reuse it
	priority batcher.Priority
	rows     int64  // items on the batch axis; 1 when the model does not batch
	key      uint64 // hash of the non-batch dimensions and datatypes
	enqueued time.Time
	done     chan struct{} // closed by finish, after result is set

	finished atomic.Bool
	result   inflightResult    // written once by finish before done closes; read after <-done
	resp     InferResponse     // what infer returns: part of the same allocation
	mu       sync.Mutex        // protects: outputs, pending
	outputs  []backends.Tensor // assembled from parts, when the request was split
	pending  int64             // rows not yet computed
}

type inflightResult struct {
	outputs []backends.Tensor // every model output, in signature order
	err     error
	// owned: the outputs' buffers are this request's alone (a batch that
	// was the whole request, or outputs assembled from parts), so its
	// response may recycle them.
	owned bool
}

func (j *inflight) Rows() int                  { return int(j.rows) }
func (j *inflight) Key() uint64                { return j.key }
func (j *inflight) Context() context.Context   { return j.ctx }
func (j *inflight) Priority() batcher.Priority { return j.priority }

func (j *inflight) finish(outputs []backends.Tensor, err error) {
	j.finishWith(inflightResult{outputs: outputs, err: err})
}

// finishOwned finishes j with outputs whose buffers nothing else holds.
func (j *inflight) finishOwned(outputs []backends.Tensor) {
	j.finishWith(inflightResult{outputs: outputs, owned: true})
}

func (j *inflight) finishWith(r inflightResult) {
	if j.finished.CompareAndSwap(false, true) {
		j.result = r
		close(j.done)
	}
}

// shapeKey hashes what must agree for requests to share a batch: each
// input's datatype and its dimensions after the batch axis.
func shapeKey(inputs []backends.Tensor) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for _, t := range inputs {
		h.Write([]byte{byte(t.DataType), byte(len(t.Shape))})
		for _, d := range t.Shape[min(1, len(t.Shape)):] {
			binary.LittleEndian.PutUint64(b[:], uint64(d))
			h.Write(b[:])
		}
	}
	return h.Sum64()
}

type part = batcher.Part[*inflight]

// whole reports whether a part is its request entire.
func whole(p part) bool { return p.Offset == 0 && int64(p.Rows) == p.Req.rows }

// concatParts joins the parts' rows along the batch axis. Batch formation
// guarantees that the parts agree on every other axis.
func concatParts(parts []part) []backends.Tensor {
	if len(parts) == 1 && whole(parts[0]) {
		return parts[0].Req.req.Inputs
	}
	first := parts[0].Req.req.Inputs
	out := make([]backends.Tensor, len(first))
	for i := range first {
		t := backends.Tensor{Name: first[i].Name, DataType: first[i].DataType}
		t.Shape = append([]int64(nil), first[i].Shape...)
		t.Shape[0] = 0
		for _, p := range parts {
			t.Shape[0] += int64(p.Rows)
		}
		for _, p := range parts {
			in := &p.Req.req.Inputs[i]
			if t.DataType == backends.Bytes {
				per := int64(len(in.Strings)) / p.Req.rows
				t.Strings = append(t.Strings, in.Strings[int64(p.Offset)*per:int64(p.Offset+p.Rows)*per]...)
				continue
			}
			if t.Data == nil {
				t.Data = make([]byte, 0, int64(len(in.Data))/p.Req.rows*t.Shape[0])
			}
			row := int64(len(in.Data)) / p.Req.rows
			t.Data = append(t.Data, in.Data[int64(p.Offset)*row:int64(p.Offset+p.Rows)*row]...)
		}
		out[i] = t
	}
	return out
}

// rowsOf slices rows [from, from+n) out of a batched output. The slice
// shares the backend's buffer, which is fresh Go memory nothing else writes;
// the piece's shape is written into shape, which has o's rank.
func rowsOf(o *backends.Tensor, shape []int64, total, from, n int64) backends.Tensor {
	piece := backends.Tensor{Name: o.Name, DataType: o.DataType}
	piece.Shape = shape[:copy(shape, o.Shape):len(o.Shape)]
	piece.Shape[0] = n
	if o.DataType == backends.Bytes {
		per := int64(len(o.Strings)) / total
		piece.Strings = o.Strings[from*per : (from+n)*per : (from+n)*per]
	} else {
		row := int64(len(o.Data)) / total
		piece.Data = o.Data[from*row : (from+n)*row : (from+n)*row]
	}
	return piece
}

// deliver hands each part its rows of the batch's outputs. Where no part
// is its whole request, every part's rows were copied into its request's
// own outputs, and the batch's buffers are recycled here.
func deliver(parts []part, outputs []backends.Tensor) {
	if len(parts) == 1 && whole(parts[0]) {
		parts[0].Req.finishOwned(outputs)
		return
	}
	shared := false
	var total int64
	for _, p := range parts {
		total += int64(p.Rows)
	}
	var at int64
	n, rank := len(outputs), 0
	for i := range outputs {
		rank += len(outputs[i].Shape)
	}
	all := make([]backends.Tensor, len(parts)*n) // one allocation for every part's pieces
	shapes := make([]int64, len(parts)*rank)     // and one for their shapes
	for k, p := range parts {
		pieces := all[k*n : (k+1)*n : (k+1)*n]
		for i := range outputs {
			r := len(outputs[i].Shape)
			pieces[i] = rowsOf(&outputs[i], shapes[:r:r], total, at, int64(p.Rows))
			shapes = shapes[r:]
		}
		at += int64(p.Rows)
		if whole(p) {
			p.Req.finish(pieces, nil)
			shared = true
		} else {
			p.Req.addPart(p.Offset, pieces)
		}
	}
	if !shared {
		recycle(outputs)
	}
}

// recycle gives the outputs' buffers back to the backends' pool; nothing
// may read them after.
func recycle(outputs []backends.Tensor) {
	for i := range outputs {
		backends.RecycleOutput(outputs[i].Data)
	}
}

// addPart copies a part's output rows into the request's outputs at its
// offset, and finishes the request when its last rows arrive.
func (j *inflight) addPart(offset int, pieces []backends.Tensor) {
	j.mu.Lock()
	if j.outputs == nil {
		j.pending = j.rows
		j.outputs = make([]backends.Tensor, len(pieces))
		for i, p := range pieces {
			t := backends.Tensor{Name: p.Name, DataType: p.DataType, Shape: append([]int64(nil), p.Shape...)}
			t.Shape[0] = j.rows
			if p.DataType == backends.Bytes {
				t.Strings = make([][]byte, int64(len(p.Strings))/p.Shape[0]*j.rows)
			} else {
				t.Data = backends.OutputBuffer(int(int64(len(p.Data)) / p.Shape[0] * j.rows))
			}
			j.outputs[i] = t
		}
	}
	for i, p := range pieces {
		if p.DataType == backends.Bytes {
			per := int64(len(p.Strings)) / p.Shape[0]
			copy(j.outputs[i].Strings[int64(offset)*per:], p.Strings)
		} else {
			row := int64(len(p.Data)) / p.Shape[0]
			copy(j.outputs[i].Data[int64(offset)*row:], p.Data)
		}
	}
	j.pending -= pieces[0].Shape[0]
	done := j.pending == 0
	j.mu.Unlock()
	if done {
		j.finishOwned(j.outputs)
	}
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
