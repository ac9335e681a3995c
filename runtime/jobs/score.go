package jobs

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
)

// Models is what jobs need of the runtime; *runtime.Manager has it.
type Models interface {
	Infer(ctx context.Context, req *runtime.InferRequest) (*runtime.InferResponse, error)
	Version(name string, version int64) (*runtime.ModelVersion, error)
}

// scorer turns a chunk's input lines into its result lines. Rows go to the
// runtime at bulk priority, as many per request as the model takes.
type scorer struct {
	models   Models
	retryFor time.Duration // how long a busy or unavailable model is retried
}

// chunkResult is a scored chunk: one line per row, in row order.
type chunkResult struct {
	lines    []byte
	failed   int64
	firstErr string
}

// batchesInFlight is how many requests one chunk keeps in the runtime.
const batchesInFlight = 4

// pending is a row on its way through scoring.
type pending struct {
	inputs []backends.Tensor // nil once the row has its result
	line   []byte            // its result line
	err    string            // why it failed, if it did
}

// score scores every row of a chunk. A row that cannot be decoded or run
// fails alone. The error is non-nil only when ctx ended first: the chunk is
// then left for redelivery.
func (s *scorer) score(ctx context.Context, job *record, c chunkRef, data []byte) (chunkResult, error) {
	rows := splitLines(data)
	v, err := s.version(ctx, job.Model, job.Version)
	if err != nil {
		return failAll(c, len(rows), err.Error()), ctx.Err()
	}
	specs := rowSpecs(&v.Sig)
	pend := make([]pending, len(rows))
	for i, line := range rows {
		row := c.firstRow + int64(i)
		var err error
		if job.Format == CSV {
			pend[i].inputs, err = decodeCSV(line, specs[0])
		} else {
			pend[i].inputs, err = decodeNDJSON(line, specs)
		}
		if err != nil {
			pend[i].fail(row, err.Error())
		}
	}
	s.runBatches(ctx, job, c.firstRow, pend, v.Sig.MaxBatchSize)
	if err := ctx.Err(); err != nil {
		return chunkResult{}, err
	}
	return collect(pend), nil
}

// runBatches runs the rows in batches of up to maxBatch, batchesInFlight
// at a time: a batch the runtime's batcher split, to run an interactive
// request first, then completes with the next batch's rows rather than
// waiting out the model's batching window alone.
func (s *scorer) runBatches(ctx context.Context, job *record, first int64, pend []pending, maxBatch int) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, batchesInFlight)
	for i := 0; i < len(pend); {
		n := batchLen(pend[i:], max(maxBatch, 1))
		if n == 0 {
			i++
			continue
		}
		slots <- struct{}{}
		wg.Add(1)
		go func(i, n int) {
			defer func() { <-slots; wg.Done() }()
			s.runBatch(ctx, job, first+int64(i), pend[i:i+n], maxBatch > 0)
		}(i, n)
		i += n
	}
	wg.Wait()
}

// batchLen counts the rows from p[0] that run as one batch: rows that
// decoded, with the same shapes, up to max.
func batchLen(p []pending, max int) int {
	if p[0].inputs == nil {
		return 0
	}
	n := 1
	for n < len(p) && n < max && p[n].inputs != nil && sameShapes(p[0].inputs, p[n].inputs) {
		n++
	}
	return n
}

func sameShapes(a, b []backends.Tensor) bool {
	for i := range a {
		if !slices.Equal(a[i].Shape, b[i].Shape) {
			return false
		}
	}
	return true
}

// runBatch runs rows as one request; when that fails, it runs each row
// alone, so a row the model rejects fails by itself.
func (s *scorer) runBatch(ctx context.Context, job *record, first int64, p []pending, batched bool) {
	resp, err := s.infer(ctx, job, batchInputs(p, batched))
	if ctx.Err() != nil {
		return // the chunk is abandoned
	}
	if err != nil && len(p) > 1 && !transient(err) {
		for i := range p {
			s.runBatch(ctx, job, first+int64(i), p[i:i+1], batched)
		}
		return
	}
	for i := range p {
		if err != nil {
			p[i].fail(first+int64(i), err.Error())
		} else {
			p[i].line = appendRowResult(nil, first+int64(i), resp.Outputs, int64(i), batched)
			p[i].inputs = nil
		}
	}
}

func (p *pending) fail(row int64, msg string) {
	p.inputs, p.err, p.line = nil, msg, appendRowError(nil, row, msg)
}

// batchInputs stacks the rows' inputs along a new batch axis.
func batchInputs(p []pending, batched bool) []backends.Tensor {
	if !batched {
		return p[0].inputs
	}
	out := make([]backends.Tensor, len(p[0].inputs))
	for k, t := range p[0].inputs {
		b := backends.Tensor{Name: t.Name, DataType: t.DataType, Shape: append([]int64{int64(len(p))}, t.Shape...)}
		if t.DataType != backends.Bytes {
			b.Data = make([]byte, 0, len(p)*len(t.Data))
		}
		for i := range p {
			b.Data = append(b.Data, p[i].inputs[k].Data...)
			b.Strings = append(b.Strings, p[i].inputs[k].Strings...)
		}
		out[k] = b
	}
	return out
}

// infer runs one request at bulk priority, retrying while the model is
// busy or unavailable, for up to retryFor.
func (s *scorer) infer(ctx context.Context, job *record, inputs []backends.Tensor) (*runtime.InferResponse, error) {
	req := &runtime.InferRequest{Model: job.Model, Version: job.Version, Inputs: inputs, Priority: runtime.PriorityBulk}
	return retry(ctx, s.retryFor, func() (*runtime.InferResponse, error) { return s.models.Infer(ctx, req) })
}

func (s *scorer) version(ctx context.Context, model string, version int64) (*runtime.ModelVersion, error) {
	return retry(ctx, s.retryFor, func() (*runtime.ModelVersion, error) { return s.models.Version(model, version) })
}

// retry calls fn until it succeeds, fails for good, ctx ends or budget
// runs out, backing off between tries.
func retry[T any](ctx context.Context, budget time.Duration, fn func() (T, error)) (T, error) {
	deadline := time.Now().Add(budget)
	wait := 20 * time.Millisecond
	for {
		v, err := fn()
		if err == nil || !transient(err) || time.Now().Add(wait).After(deadline) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// transient errors may go away by themselves: a full queue, a request that
// waited too long, a model loading or reloading.
func transient(err error) bool {
	switch runtime.KindOf(err) {
	case runtime.KindResourceExhausted, runtime.KindDeadlineExceeded, runtime.KindUnavailable:
		return true
	}
	return false
}

func failAll(c chunkRef, n int, msg string) chunkResult {
	r := chunkResult{failed: int64(n), firstErr: msg}
	for i := range n {
		r.lines = appendRowError(r.lines, c.firstRow+int64(i), msg)
	}
	return r
}

func collect(p []pending) chunkResult {
	var r chunkResult
	for _, x := range p {
		if x.err != "" {
			r.failed++
			if r.firstErr == "" {
				r.firstErr = x.err
			}
		}
		r.lines = append(r.lines, x.line...)
	}
	return r
}

// splitLines cuts a chunk's input into its rows.
func splitLines(data []byte) [][]byte {
	lines := bytes.Split(bytes.TrimSuffix(data, []byte{'\n'}), []byte{'\n'})
	if len(data) == 0 {
		return nil
	}
	return lines
}
