package jobs

import (
	"fmt"
	"io"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/tiffin-ml/tiffin/backends"
)

// resultSchema is the Parquet results' schema: "row" (int64), "error"
// (string, null for rows that succeeded), then one column per output
// (null for rows that failed): a scalar for an output of one value per row
// with no shape, a fixed-size list of the row's values (flattened, C
// order) for a fixed row shape, a list for one of variable length.
func resultSchema(outs []outSpec) *arrow.Schema {
	fields := []arrow.Field{{Name: "row", Type: arrow.PrimitiveTypes.Int64}, {Name: "error", Type: arrow.BinaryTypes.String, Nullable: true}}
	for _, o := range outs {
		fields = append(fields, arrow.Field{Name: o.Name, Type: outputType(o), Nullable: true})
	}
	return arrow.NewSchema(fields, nil)
}

func outputType(o outSpec) arrow.DataType {
	elem := arrowType(o.DataType)
	if len(o.Shape) == 0 {
		return elem
	}
	for _, d := range o.Shape {
		if d < 0 {
			return arrow.ListOf(elem)
		}
	}
	return arrow.FixedSizeListOf(int32(backends.NumElements(o.Shape)), elem)
}

func arrowType(dt backends.DataType) arrow.DataType {
	switch dt {
	case backends.Bool:
		return arrow.FixedWidthTypes.Boolean
	case backends.Int8:
		return arrow.PrimitiveTypes.Int8
	case backends.Int16:
		return arrow.PrimitiveTypes.Int16
	case backends.Int32:
		return arrow.PrimitiveTypes.Int32
	case backends.Int64:
		return arrow.PrimitiveTypes.Int64
	case backends.Uint8:
		return arrow.PrimitiveTypes.Uint8
	case backends.Uint16:
		return arrow.PrimitiveTypes.Uint16
	case backends.Uint32:
		return arrow.PrimitiveTypes.Uint32
	case backends.Uint64:
		return arrow.PrimitiveTypes.Uint64
	case backends.FP64:
		return arrow.PrimitiveTypes.Float64
	case backends.Bytes:
		return arrow.BinaryTypes.Binary
	}
	return arrow.PrimitiveTypes.Float32
}

// renderParquet streams a job's results as a Parquet file, written as it
// is read: one row group per chunk. Closing the reader early stops the
// writing.
func renderParquet(rec *record, chunks *chunkResults) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeParquet(pw, rec, chunks)) }()
	return pr
}

// resultChunks hands out a job's chunk results in chunk order, then io.EOF
// (chunkResults).
type resultChunks interface {
	read() (*recordReader, error)
}

func writeParquet(w io.Writer, rec *record, chunks resultChunks) error {
	sc := resultSchema(rec.Outputs)
	// One chunk's arrays, pages and levels are freed before the next
	// chunk's are made: they are recycled, not garbage (a file's worth of
	// allocations was eight times its size).
	mem := &recycler{mem: memory.DefaultAllocator, keep: 64}
	// No dictionaries but for the error messages: a model's outputs are
	// rarely few distinct values, and trying (hashing every value until
	// the dictionary outgrew its page, then again in each row group) was
	// two thirds of a Parquet download's CPU.
	// Nor statistics but for "row" (a reader can skip to a row range by
	// them): a min and max of model outputs serve no query, and computing
	// them was a tenth of the CPU.
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithDictionaryDefault(false), parquet.WithDictionaryFor("error", true),
		parquet.WithStats(false), parquet.WithStatsFor("row", true), parquet.WithAllocator(mem))
	// The arrow schema travels in the file, so arrow readers get the
	// fixed-size lists back as such (pyarrow: numpy-ready columns).
	out := &cutOff{w: w}
	fw, err := pqarrow.NewFileWriter(sc, out, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem)))
	if err != nil {
		return err
	}
	// fail ends a file that could not be read whole without its footer, so
	// no reader mistakes the rows written so far for all of them.
	fail := func(err error) error {
		out.cut = true
		_ = fw.Close() // releases the writer; the footer goes nowhere
		return err
	}
	rb := array.NewRecordBuilder(mem, sc)
	defer rb.Release()
	for chunk := 0; ; chunk++ {
		recs, err := chunks.read()
		if err == io.EOF {
			return fw.Close()
		}
		if err != nil {
			return fail(err)
		}
		if err := appendChunkRows(rb, rec, recs); err != nil {
			return fail(fmt.Errorf("chunk %d of job %s: %w", chunk, rec.ID, err))
		}
		batch := rb.NewRecordBatch()
		err = fw.Write(batch)
		batch.Release()
		if err != nil {
			return fail(err)
		}
	}
}

// cutOff passes writes on until cut, then drops them.
type cutOff struct {
	w   io.Writer
	cut bool
}

func (c *cutOff) Write(p []byte) (int, error) {
	if c.cut {
		return len(p), nil
	}
	return c.w.Write(p)
}

// appendChunkRows appends one chunk's rows to the record builder.
func appendChunkRows(rb *array.RecordBuilder, job *record, recs *recordReader) error {
	var r resultRecord
	for recs.next(&r) {
		rows := rb.Field(0).(*array.Int64Builder)
		errs := rb.Field(1).(*array.StringBuilder)
		for i := range r.rows {
			rows.Append(r.first + int64(i))
		}
		if r.kind == recError {
			errs.Append(r.msg)
			for k := range job.Outputs {
				rb.Field(2 + k).AppendNull()
			}
			continue
		}
		errs.AppendNulls(r.rows)
		for k, o := range job.Outputs {
			t := findOutput(r.outs, o.Name)
			if t == nil {
				return fmt.Errorf("the model returned no output %q", o.Name)
			}
			if err := appendOutput(rb.Field(2+k), t, r.rows, r.batched); err != nil {
				return fmt.Errorf("output %q: %w", o.Name, err)
			}
		}
	}
	return recs.err
}

func findOutput(outs []backends.Tensor, name string) *backends.Tensor {
	for i := range outs {
		if outs[i].Name == name {
			return &outs[i]
		}
	}
	return nil
}

// appendOutput appends rows rows of output t, each row's values as one
// value of the column's builder.
func appendOutput(b array.Builder, t *backends.Tensor, rows int, batched bool) error {
	per := int(t.NumElements())
	if batched && rows > 0 {
		per /= rows
	}
	switch lb := b.(type) {
	case *array.FixedSizeListBuilder:
		if want := int(lb.Type().(*arrow.FixedSizeListType).Len()); want != per {
			return fmt.Errorf("%d values per row, the model declares %d", per, want)
		}
		for range rows {
			lb.Append(true)
		}
		return appendElems(lb.ValueBuilder(), t, 0, rows*per)
	case *array.ListBuilder:
		for i := range rows {
			lb.Append(true)
			if err := appendElems(lb.ValueBuilder(), t, i*per, (i+1)*per); err != nil {
				return err
			}
		}
		return nil
	}
	if per != 1 {
		return fmt.Errorf("%d values per row, the model declares one", per)
	}
	return appendElems(b, t, 0, rows)
}

// appendElems appends elements [from, to) of t to a scalar builder.
func appendElems(b array.Builder, t *backends.Tensor, from, to int) error {
	if t.DataType == backends.Bytes {
		bb := b.(*array.BinaryBuilder)
		for _, s := range t.Strings[from:to] {
			bb.Append(s)
		}
		return nil
	}
	size := t.DataType.Size()
	raw, done := alignedTemp(t.Data[from*size : to*size])
	defer done()
	switch vb := b.(type) {
	case *array.Float32Builder:
		vb.AppendValues(view[float32](raw), nil)
	case *array.Float64Builder:
		vb.AppendValues(view[float64](raw), nil)
	case *array.Int8Builder:
		vb.AppendValues(view[int8](raw), nil)
	case *array.Int16Builder:
		vb.AppendValues(view[int16](raw), nil)
	case *array.Int32Builder:
		vb.AppendValues(view[int32](raw), nil)
	case *array.Int64Builder:
		vb.AppendValues(view[int64](raw), nil)
	case *array.Uint8Builder:
		vb.AppendValues(raw, nil)
	case *array.Uint16Builder:
		vb.AppendValues(view[uint16](raw), nil)
	case *array.Uint32Builder:
		vb.AppendValues(view[uint32](raw), nil)
	case *array.Uint64Builder:
		vb.AppendValues(view[uint64](raw), nil)
	case *array.BooleanBuilder:
		for _, x := range raw {
			vb.Append(x != 0)
		}
	default:
		return fmt.Errorf("no Parquet column for %s", t.DataType)
	}
	return nil
}

// alignedTemp is raw itself when it starts 8-aligned, else a copy of it in a
// buffer kept for the next (a result record's tensors follow its header at
// any offset; a fresh copy for each was most of a Parquet download's
// garbage); done gives the buffer back once the builder has copied the
// values.
func alignedTemp(raw []byte) (b []byte, done func()) {
	if len(raw) == 0 || uintptr(unsafe.Pointer(unsafe.SliceData(raw)))%8 == 0 {
		return raw, func() {}
	}
	buf, _ := alignedScratch.Get().(*[]byte)
	if buf == nil || cap(*buf) < len(raw) {
		buf = &[]byte{}
		*buf = alignedBuf(len(raw))
	}
	b = (*buf)[:len(raw)]
	copy(b, raw)
	return b, func() { alignedScratch.Put(buf) }
}

var alignedScratch sync.Pool

// view is raw's little-endian elements in place (the builder copies them);
// raw must start aligned for T, as alignedTemp makes it.
func view[T number](raw []byte) []T {
	if len(raw) == 0 {
		return nil
	}
	var t T
	return unsafe.Slice((*T)(unsafe.Pointer(&raw[0])), len(raw)/int(unsafe.Sizeof(t)))
}

// asBytes is s's memory as bytes.
func asBytes[T number](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}
