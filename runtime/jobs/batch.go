package jobs

import (
	"slices"
	"sync"

	"github.com/tiffin-ml/tiffin/backends"
)

// batch is consecutive rows of a chunk that go to the runtime as one
// request. Rows are decoded straight into its buffers, each input's rows
// back to back, so the buffers are the request's tensors as they stand.
// Batches are pooled: a chunk of mlp-small rows then decodes and runs
// without allocating per row.
type batch struct {
	first  int64      // the first row's number
	rows   int        // rows in the batch
	data   [][]byte   // by input: the rows' elements
	strs   [][][]byte // by input: the rows' strings (BYTES inputs)
	shapes [][]int64  // by input: the shape every row of the batch has

	// reusable is false once a request with these buffers failed: the
	// runtime may still hold it (a request that timed out waiting), so
	// they are left to the garbage collector.
	reusable bool
}

var batchPool sync.Pool // of *batch

func newBatch(inputs int) *batch {
	b, _ := batchPool.Get().(*batch)
	if b == nil {
		b = &batch{}
	}
	for len(b.data) < inputs {
		b.data, b.strs, b.shapes = append(b.data, nil), append(b.strs, nil), append(b.shapes, nil)
	}
	b.data, b.strs, b.shapes = b.data[:inputs], b.strs[:inputs], b.shapes[:inputs]
	b.rows, b.reusable = 0, true
	return b
}

// release returns the batch to the pool, unless the runtime may still
// read its buffers.
func (b *batch) release() {
	if !b.reusable {
		return
	}
	for k := range b.data {
		clear(b.strs[k]) // they point into the chunk's message
		b.data[k], b.strs[k], b.shapes[k] = b.data[k][:0], b.strs[k][:0], b.shapes[k][:0]
	}
	batchPool.Put(b)
}

// mark is where a row's elements start in a batch's buffers.
type mark struct{ data, strs []int }

func (b *batch) mark(m *mark) {
	m.data, m.strs = m.data[:0], m.strs[:0]
	for k := range b.data {
		m.data, m.strs = append(m.data, len(b.data[k])), append(m.strs, len(b.strs[k]))
	}
}

// truncate drops the elements after m: a row that failed to decode.
func (b *batch) truncate(m *mark) {
	for k := range b.data {
		clear(b.strs[k][m.strs[k]:])
		b.data[k], b.strs[k] = b.data[k][:m.data[k]], b.strs[k][:m.strs[k]]
	}
}

// fits reports whether a row of these shapes may join the batch.
func (b *batch) fits(shapes [][]int64) bool {
	if b.rows == 0 {
		return true
	}
	for k, s := range shapes {
		if !slices.Equal(b.shapes[k], s) {
			return false
		}
	}
	return true
}

// add counts row n, just decoded into the batch, whose shapes fits has
// accepted.
func (b *batch) add(n int64, shapes [][]int64) {
	if b.rows == 0 {
		b.first = n
		for k, s := range shapes {
			b.shapes[k] = append(b.shapes[k][:0], s...)
		}
	}
	b.rows++
}

// moveTail moves the elements after m, a row that does not fit b, to the
// empty batch to.
func (b *batch) moveTail(m *mark, to *batch) {
	for k := range b.data {
		to.data[k] = append(to.data[k], b.data[k][m.data[k]:]...)
		to.strs[k] = append(to.strs[k], b.strs[k][m.strs[k]:]...)
	}
	b.truncate(m)
}

// inputs are rows [i, i+n) of the batch as request tensors: stacked on a
// new batch axis when batched, else the one row as it is.
func (b *batch) inputs(specs []rowSpec, i, n int, batched bool) []backends.Tensor {
	out := make([]backends.Tensor, len(specs))
	for k, s := range specs {
		t := backends.Tensor{Name: s.name, DataType: s.dt}
		if batched {
			t.Shape = append(append(make([]int64, 0, 1+len(b.shapes[k])), int64(n)), b.shapes[k]...)
		} else {
			t.Shape = slices.Clone(b.shapes[k])
		}
		if s.dt == backends.Bytes {
			per := len(b.strs[k]) / b.rows
			t.Strings = b.strs[k][i*per : (i+n)*per : (i+n)*per]
		} else {
			per := len(b.data[k]) / b.rows
			t.Data = b.data[k][i*per : (i+n)*per : (i+n)*per]
		}
		out[k] = t
	}
	return out
}
