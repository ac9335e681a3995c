package jobs

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
)

// Models is what jobs need of the runtime; *runtime.Manager has it.
type Models interface {
	Infer(ctx context.Context, req *runtime.InferRequest) (*runtime.InferResponse, error)
	Version(name string, version int64) (*runtime.ModelVersion, error)
	// BulkPause is how long a job's own work (reading, decoding and
	// queueing its input) should pause after running for work, to keep
	// within the fair share while interactive requests arrive.
	BulkPause(work time.Duration) time.Duration
	// BulkWork marks a piece of a job's work as running until done is
	// called, so the runtime can give bulk work a P of its own
	// (runtime/procs.go).
	BulkWork() (done func())
}

// scorer turns a chunk's input lines into its result lines. Rows go to the
// runtime at bulk priority, as many per request as the model takes.
type scorer struct {
	models   Models
	retryFor time.Duration // how long a busy or unavailable model is retried
}

// batchesInFlight is how many requests one chunk keeps in the runtime.
const batchesInFlight = 4

// score scores every row of a chunk. A row that cannot be decoded or run
// fails alone. The error is non-nil only when ctx ended first: the chunk is
// then left for redelivery.
//
// Rows are decoded in order, each straight into the batch it joins, and a
// batch goes to the runtime once full while the next one is decoded,
// batchesInFlight at a time: a batch the runtime's batcher split, to run
// an interactive request first, then completes with the next batch's rows
// rather than waiting out the model's batching window alone.
func (s *scorer) score(ctx context.Context, job *record, c chunkRef, data []byte) (chunkResult, error) {
	v, err := s.version(ctx, job.Model, job.Version)
	if err != nil {
		return failAll(c, c.rows, err.Error()), ctx.Err()
	}
	specs := rowSpecs(&v.Sig)
	r := &chunkRun{scorer: s, ctx: ctx, job: job, specs: specs, maxRows: max(v.Sig.MaxBatchSize, 1),
		batched: v.Sig.MaxBatchSize > 0, dec: newRowDecoder(specs, job.Format), slots: make(chan struct{}, batchesInFlight),
		deadlines: newDeadlines(ctx, v.RequestTimeout(&runtime.InferRequest{}))}
	defer r.deadlines.close()
	if job.Format.raw() {
		if msg := r.rawRows(c, data); msg != "" {
			return failAll(c, c.rows, msg), ctx.Err()
		}
	} else {
		row := c.firstRow
		eachLine(data, func(line []byte) {
			r.row(row, line)
			row++
		})
	}
	r.dispatch()
	r.wg.Wait()
	if err := ctx.Err(); err != nil {
		r.res.release()
		return chunkResult{}, err
	}
	if p := r.panicked.Load(); p != nil {
		r.res.release()
		return chunkResult{}, fmt.Errorf("scoring it panicked: %v", *p)
	}
	r.res.leftBehind = r.leftBehind.Load()
	for _, seg := range r.res.segs {
		r.res.failed += seg.failed
		if r.res.firstErr == "" {
			r.res.firstErr = seg.firstErr
		}
	}
	return r.res, nil
}

// chunkRun is the scoring of one chunk.
type chunkRun struct {
	*scorer
	ctx     context.Context
	job     *record
	specs   []rowSpec
	maxRows int  // rows per request
	batched bool // whether requests have a batch axis
	dec     *rowDecoder
	// deadlines gives each request its timeout without a timer apiece.
	deadlines *deadlines

	cur      *batch // the batch being filled; nil after a dispatch
	mark     mark   // where the row being decoded starts in cur
	res      chunkResult
	slots    chan struct{} // one token per batch in the runtime
	wg       sync.WaitGroup
	panicked atomic.Pointer[any] // what a batch's scoring panicked with
	// leftBehind is set once a try failed: it may still be in the runtime,
	// reading the chunk's bytes, so they are not reused (infer).
	leftBehind atomic.Bool
}

// rawRows sends a raw chunk's rows to the runtime in batches, each a view
// of the chunk's own bytes: nothing is decoded or copied. It returns why
// the chunk cannot be scored, or "".
func (r *chunkRun) rawRows(c chunkRef, data []byte) string {
	l, err := newLayout(r.job.Model, r.specs, r.job.Format)
	if err != nil {
		return err.Error()
	}
	if len(data) != c.rows*l.total {
		return fmt.Sprintf("the chunk holds %d bytes, not the %d of %d rows of the model's inputs", len(data), c.rows*l.total, c.rows)
	}
	data = aligned(data)
	for i := 0; i < c.rows; i += r.maxRows {
		n := min(r.maxRows, c.rows-i)
		b := &batch{first: c.firstRow + int64(i), rows: n, data: make([][]byte, len(r.specs)),
			strs: make([][][]byte, len(r.specs)), shapes: make([][]int64, len(r.specs))}
		for k, s := range r.specs {
			off := l.offset(k, c.rows) + i*l.rowBytes[k]
			b.data[k], b.shapes[k] = data[off:off+n*l.rowBytes[k]:off+n*l.rowBytes[k]], s.shape
		}
		r.cur = b // not pooled (reusable is false): its buffers are the message's
		r.dispatch()
	}
	return ""
}

// aligned is data, or a copy of it at an 8-byte-aligned address, so that
// every element a backend reads in place is aligned.
func aligned(data []byte) []byte {
	if len(data) == 0 || uintptr(unsafe.Pointer(&data[0]))%8 == 0 {
		return data
	}
	out := make([]byte, len(data), len(data)+8)
	copy(out, data)
	return out
}

// row decodes row n into the current batch, and sends the batch on when
// it is full. A row that does not decode fails alone; one whose shapes
// differ from the batch's starts the next batch.
func (r *chunkRun) row(n int64, line []byte) {
	if r.cur == nil {
		r.cur = newBatch(len(r.specs))
	}
	b := r.cur
	b.mark(&r.mark)
	if err := r.dec.decode(line, b); err != nil {
		b.truncate(&r.mark)
		r.dispatch() // the rows before it come first
		r.undecoded().fail(n, err.Error())
		return
	}
	if !b.fits(r.dec.shapes) {
		next := newBatch(len(r.specs))
		b.moveTail(&r.mark, next)
		r.dispatch()
		r.cur, b = next, next
	}
	b.add(n, r.dec.shapes)
	if b.rows == r.maxRows {
		r.dispatch()
	}
}

// undecoded is the segment for the result line of a row that failed to
// decode: the last one, when that holds such rows too.
func (r *chunkRun) undecoded() *segment {
	if k := len(r.res.segs); k > 0 && r.res.segs[k-1].undecoded {
		return r.res.segs[k-1]
	}
	seg := newSegment()
	seg.undecoded = true
	r.res.segs = append(r.res.segs, seg)
	return seg
}

// dispatch sends the current batch to the runtime, once one of the
// chunk's slots is free.
func (r *chunkRun) dispatch() {
	b := r.cur
	if b == nil || b.rows == 0 {
		return
	}
	r.cur = nil
	seg := newSegment()
	r.res.segs = append(r.res.segs, seg)
	r.slots <- struct{}{}
	r.wg.Add(1)
	batchRunners.do(func() {
		defer func() {
			if p := recover(); p != nil {
				r.panicked.Store(&p)
			}
			<-r.slots
			r.wg.Done()
		}()
		r.run(b, seg)
		b.release()
	})
}

// run runs a batch as one request and writes its rows' result lines to
// seg. When the request fails, it runs each row alone, so a row the model
// rejects fails by itself.
func (r *chunkRun) run(b *batch, seg *segment) {
	resp, err := r.infer(b, b.inputs(r.specs, 0, b.rows, r.batched))
	switch {
	case r.ctx.Err() != nil:
		return // the chunk is abandoned
	case err == nil:
		seg.buf = appendOutputsRecord(seg.buf, b.first, resp.Outputs, b.rows, r.batched)
		resp.Recycle() // copied into the result: the next batches may have the buffers
	case b.rows > 1 && !transient(err):
		for i := range b.rows {
			row := b.first + int64(i)
			resp, err := r.infer(b, b.inputs(r.specs, i, 1, r.batched))
			if r.ctx.Err() != nil {
				return
			}
			if err != nil {
				seg.fail(row, err.Error())
			} else {
				seg.buf = appendOutputsRecord(seg.buf, row, resp.Outputs, 1, r.batched)
				resp.Recycle()
			}
		}
	default:
		for i := range b.rows {
			seg.fail(b.first+int64(i), err.Error())
		}
	}
}

// infer runs one request of b's rows at bulk priority, retrying while
// the model is busy or unavailable, for up to retryFor or until the chunk
// is abandoned. Each try is a request of its own, under a context from the
// chunk's deadlines: a try that fails may stay in the runtime (one that
// timed out waiting, still in a batch), reading its request and inputs.
// Then neither b's buffers nor the chunk's bytes, which inputs may view,
// are reused: b is left to the garbage collector, and the chunk keeps its
// input until it is dropped (leftBehind).
func (r *chunkRun) infer(b *batch, inputs []backends.Tensor) (*runtime.InferResponse, error) {
	return retry(r.ctx, r.retryFor, func() (*runtime.InferResponse, error) {
		req := &runtime.InferRequest{Model: r.job.Model, Version: r.job.Version, Inputs: inputs, Priority: runtime.PriorityBulk}
		resp, err := r.models.Infer(r.deadlines.next(), req)
		if err != nil {
			b.reusable = false
			r.leftBehind.Store(true)
		}
		return resp, err
	})
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
	seg := newSegment()
	for i := range n {
		seg.fail(c.firstRow+int64(i), msg)
	}
	return chunkResult{segs: []*segment{seg}, failed: seg.failed, firstErr: seg.firstErr}
}

// eachLine calls fn with each row of a chunk's input.
func eachLine(data []byte, fn func(line []byte)) {
	if len(data) == 0 {
		return
	}
	data = bytes.TrimSuffix(data, []byte{'\n'})
	for {
		line, rest, more := bytes.Cut(data, []byte{'\n'})
		fn(line)
		if !more {
			return
		}
		data = rest
	}
}
