package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
)

// source is where one model input's rows come from in a Parquet file:
// one list or fixed-size-list column (or a scalar column for an input of
// one element per row), or several scalar feature columns.
type source struct {
	cols []int // top-level field indexes
	list bool  // cols[0] holds each row's elements as a list
}

// parquetPlan maps a file's columns to a model's inputs:
//   - a column named as an input feeds it: a list or fixed-size-list
//     column of the row's elements, or a scalar one for an input of one
//     element per row;
//   - otherwise, for a single input, the scalar feature columns named by
//     columns, in that order, or every numeric scalar column in file
//     order, or the file's only list column.
func parquetPlan(model string, l *layout, sc *arrow.Schema, columns []string) ([]source, error) {
	bad := func(format string, args ...any) ([]source, error) {
		return nil, runtime.Errorf(runtime.KindInvalidArgument, "Parquet input for model %s: "+format, append([]any{model}, args...)...)
	}
	out := make([]source, len(l.specs))
	if len(columns) > 0 {
		if len(l.specs) != 1 {
			return bad("columns= picks the features of a single input; the model has %d inputs, so name a list column after each", len(l.specs))
		}
		for _, name := range columns {
			i := sc.FieldIndices(name)
			if len(i) == 0 {
				return bad("no column %q (the file has %v)", name, fieldNames(sc))
			}
			if t := sc.Field(i[0]).Type; !scalarType(t) {
				return bad("column %q is %s; columns= names scalar numeric columns%s", name, t, hintOf(t, l.specs[0], ": "))
			}
			out[0].cols = append(out[0].cols, i[0])
		}
		return out, checkWidth(model, l, 0, len(out[0].cols), "")
	}
	for k, s := range l.specs {
		i := sc.FieldIndices(s.name)
		if len(i) == 0 {
			continue
		}
		t := sc.Field(i[0]).Type
		switch {
		case listType(t):
			out[k] = source{cols: i[:1], list: true}
		case scalarType(t) && backends.NumElements(s.shape) == 1:
			out[k] = source{cols: i[:1]}
		default:
			if hint := hintOf(t, s, ", and "); hint != "" {
				return bad("column %q is %s; input %q takes %v %s per row%s", s.name, t, s.name, s.shape, s.dt, hint)
			}
			return bad("column %q is %s; input %q takes %v %s per row: give a list of them", s.name, t, s.name, s.shape, s.dt)
		}
	}
	if len(l.specs) == 1 && out[0].cols == nil {
		var lists []int
		unread := "" // why the first column of a type users commonly mean as features is not read
		index := pandasIndex(sc)
		for i, f := range sc.Fields() {
			switch {
			case index[f.Name]: // pandas's index, not a feature (pandas.read_parquet makes it the index again)
			case scalarType(f.Type):
				out[0].cols = append(out[0].cols, i)
			case listType(f.Type):
				lists = append(lists, i)
			case unread == "":
				if hint := hintOf(f.Type, l.specs[0], ": "); hint != "" {
					unread = fmt.Sprintf("; column %q is %s%s", f.Name, f.Type, hint)
				}
			}
		}
		if len(lists) == 1 && len(out[0].cols) != int(backends.NumElements(l.specs[0].shape)) {
			out[0] = source{cols: lists, list: true}
		}
		if len(out[0].cols) == 0 {
			return bad("no numeric or list column for input %q (the file has %v)%s", l.specs[0].name, fieldNames(sc), unread)
		}
		if !out[0].list {
			return out, checkWidth(model, l, 0, len(out[0].cols), unread)
		}
	}
	for k, s := range l.specs {
		if out[k].cols == nil {
			return bad("no column named %q for that input (the file has %v)", s.name, fieldNames(sc))
		}
	}
	return out, nil
}

// pandasIndex is the columns that hold a pandas DataFrame's index in a
// file pandas wrote (df.to_parquet): named in the schema's "pandas"
// metadata, as __index_level_0__ for an unnamed index. A RangeIndex is
// kept in the metadata alone, so a filtered or re-indexed frame is the
// common case that has one.
func pandasIndex(sc *arrow.Schema) map[string]bool {
	md := sc.Metadata()
	i := md.FindKey("pandas")
	if i < 0 {
		return nil
	}
	var meta struct {
		IndexColumns []json.RawMessage `json:"index_columns"`
	}
	if json.Unmarshal([]byte(md.Values()[i]), &meta) != nil {
		return nil
	}
	out := map[string]bool{}
	for _, c := range meta.IndexColumns {
		var name string
		if json.Unmarshal(c, &name) == nil { // a range index is an object, and no column
			out[name] = true
		}
	}
	return out
}

// checkWidth checks that n feature columns fill input k's row; note, when
// not empty, is appended to the error, naming a column not read.
func checkWidth(model string, l *layout, k, n int, note string) error {
	s := l.specs[k]
	if want := backends.NumElements(s.shape); int64(n) != want {
		return runtime.Errorf(runtime.KindInvalidArgument,
			"Parquet input for model %s: %d feature columns, but input %q takes %d values per row (shape %v); pick them with columns=a,b,...%s",
			model, n, s.name, want, s.shape, note)
	}
	return nil
}

// hintOf says why a column of type t, one pandas and pyarrow users
// commonly write, is not read for input s, and how to write it instead,
// after sep: float16 (NumPy's, which pyarrow calls halffloat) and nested
// lists (a [1, 8, 8] image as lists of lists). "" for other types.
func hintOf(t arrow.DataType, s rowSpec, sep string) string {
	elem, depth := t, 0
	for {
		next, ok := listElem(elem)
		if !ok {
			break
		}
		elem, depth = next, depth+1
	}
	switch {
	case depth > 1 && (scalarType(elem) || elem.ID() == arrow.FLOAT16):
		n := backends.NumElements(s.shape)
		return fmt.Sprintf("%snested lists are not read: flatten each row to its %d values, in C order "+
			"(pyarrow: pa.FixedSizeListArray.from_arrays(pc.list_flatten(col, recursive=True), %d))", sep, n, n)
	case elem.ID() == arrow.FLOAT16:
		return sep + `float16 (pyarrow's halffloat) values are not read: cast them to float32 (pandas: df.astype("float32"))`
	}
	return ""
}

// listElem is the element type of a list, large list or fixed-size list.
func listElem(t arrow.DataType) (arrow.DataType, bool) {
	switch lt := t.(type) {
	case *arrow.FixedSizeListType:
		return lt.Elem(), true
	case *arrow.ListType:
		return lt.Elem(), true
	case *arrow.LargeListType:
		return lt.Elem(), true
	}
	return nil, false
}

func fieldNames(sc *arrow.Schema) []string {
	var out []string
	for _, f := range sc.Fields() {
		out = append(out, f.Name)
	}
	return out
}

func listType(t arrow.DataType) bool {
	elem, ok := listElem(t)
	return ok && scalarType(elem)
}

func scalarType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16,
		arrow.UINT32, arrow.UINT64, arrow.FLOAT32, arrow.FLOAT64:
		return true
	}
	return false
}

// splitParquet cuts a Parquet file into raw chunks of rows rows, reading
// it one row group at a time and, within a row group, rows rows at a
// time: only the columns the model needs are read, and no more than a
// chunk of them is held. declare, when not nil, is told the rows the
// footer declares once it is read, before any chunk is emitted.
func splitParquet(ctx context.Context, model string, l *layout, f parquet.ReaderAtSeeker, columns []string, rows int,
	mem memory.Allocator, declare func(rows int64), emit func(chunkRef, []byte) error) (int64, int, error) {
	if err := checkFooter(f, maxFooterBytes); err != nil { // parquet_footer.go
		return 0, 0, err
	}
	props := readProps(mem)
	pf, err := file.NewParquetReader(f, file.WithReadProps(props))
	if err != nil {
		return 0, 0, runtime.Errorf(runtime.KindInvalidArgument, "not a readable Parquet file: %v", err)
	}
	defer pf.Close()
	if declare != nil {
		declare(pf.NumRows())
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(rows)}, mem)
	if err != nil {
		return 0, 0, runtime.Errorf(runtime.KindInvalidArgument, "read the Parquet schema: %v", err)
	}
	sc, err := fr.Schema()
	if err != nil {
		return 0, 0, runtime.Errorf(runtime.KindInvalidArgument, "read the Parquet schema: %v", err)
	}
	plan, err := parquetPlan(model, l, sc, columns)
	if err != nil {
		return 0, 0, err
	}
	fields, leaves := neededColumns(fr.Manifest, plan)
	limit := pageLimit(len(leaves))
	props.MaxCompressedPageSize, props.MaxUncompressedPageSize = limit, limit
	c := newRawChunker(l, rows, pf.NumRows(), emit)
	if leaf, ok := flatColumn(pf, l, plan, leaves); ok { // parquet_flat.go
		pages := &flatPages{} // parquet_pages.go
		for rg := range pf.NumRowGroups() {
			read := readFlat
			if pagesReadable(pf, rg, leaf) {
				read = pages.read
			}
			if err := read(ctx, pf, rg, leaf, sc.Field(plan[0].cols[0]).Name, c); err != nil {
				return c.total, c.chunks, err
			}
		}
		return c.total, c.chunks, c.flush()
	}
	// The flat path checks each row as it reads it; arrow-go's record
	// reader, a batch of rows at a time.
	if err := checkListValues(pf, fr.Manifest, l, plan); err != nil {
		return 0, 0, err
	}
	for rg := range pf.NumRowGroups() {
		if err := readRowGroup(ctx, fr, rg, leaves, fields, plan, c); err != nil {
			return c.total, c.chunks, err
		}
	}
	return c.total, c.chunks, c.flush()
}

// checkListValues refuses, before anything is read, a list column whose
// rows are wider than its input's, as the file's schema and footer tell:
// a fixed-size list of another size, or a row group that holds more of
// the column's values than its rows take; and, where one row could still
// be far wider, as the column's levels tell (checkRowWidths). arrow-go's
// record reader
// gathers a whole batch of rows before a row's length can be checked, so
// rows far wider than the input's (a 3 KB file of 5,000 rows of 20,000
// zeros) had taken the server to 2.4 GB before its 400. (The flat path,
// parquet_flat.go, checks each row as it reads it, and needs no check.)
func checkListValues(pf *file.Reader, m *pqarrow.SchemaManifest, l *layout, plan []source) error {
	for k, s := range plan {
		if !s.list {
			continue
		}
		spec := l.specs[k]
		per := backends.NumElements(spec.shape)
		f := &m.Fields[s.cols[0]]
		if fsl, ok := f.Field.Type.(*arrow.FixedSizeListType); ok && int64(fsl.Len()) != per {
			return runtime.Errorf(runtime.KindInvalidArgument, "Parquet column %q is %s, %d values per row; input %q takes %d",
				f.Field.Name, fsl, fsl.Len(), spec.name, per)
		}
		for rg := range pf.NumRowGroups() {
			md := pf.MetaData().RowGroup(rg)
			for _, leaf := range appendLeaves(nil, f) {
				cc, err := md.ColumnChunk(leaf)
				if err != nil {
					return runtime.Errorf(runtime.KindInvalidArgument, "read Parquet row group %d: %v", rg, err)
				}
				if cc.NumValues() > md.NumRows()*per {
					return runtime.Errorf(runtime.KindInvalidArgument,
						"Parquet column %q holds %d values in row group %d of %d rows: more than the %d per row that input %q takes",
						f.Field.Name, cc.NumValues(), rg, md.NumRows(), per, spec.name)
				}
				if err := checkRowWidths(pf, rg, leaf, md, cc, per, f.Field.Name); err != nil { // parquet_widths.go
					return err
				}
			}
		}
	}
	return nil
}

// readProps reads a column chunk a buffer at a time, not whole: a row
// group of mlp-large's 64k rows is 64 MiB per column, which arrow-go would
// otherwise allocate and zero at once. A page may declare at most
// maxPageBytes: a chunk holds no row larger than a message, so a bigger
// page is a decompression bomb, not data. The page buffers a column
// chunk's reader frees are kept for the next one's (recycler).
func readProps(mem memory.Allocator) *parquet.ReaderProperties {
	p := parquet.NewReaderProperties(&recycler{mem: mem})
	p.BufferedStreamEnabled = true
	p.BufferSize = 1 << 20
	p.MaxCompressedPageSize, p.MaxUncompressedPageSize = maxPageBytes, maxPageBytes
	return p
}

// maxPageBytes is the largest Parquet page a job reads, compressed or not.
const maxPageBytes = 64 << 20

// pagesBudget bounds the pages of all the columns a split reads together:
// each column's reader holds its current page decompressed, so a file of
// 256 feature columns with 4 MiB pages of zeros, 75 KB on the wire, took
// 2.3 GB to read. Each page may declare pageLimit bytes.
const pagesBudget = 256 << 20

// pageLimit is the largest page a split reads when it reads n leaf columns
// together: an even part of pagesBudget, at most maxPageBytes and at least
// 1 MiB, the page size Parquet's writers aim for by default (pyarrow,
// parquet-mr, arrow-rs). Reading n columns holds at most
// max(pagesBudget, n MiB) of pages.
func pageLimit(n int) int64 {
	return min(maxPageBytes, max(1<<20, pagesBudget/int64(max(n, 1))))
}

// neededColumns lists the leaf columns the plan reads, and maps each
// field it names to its index in the records read.
func neededColumns(m *pqarrow.SchemaManifest, plan []source) (map[int]int, []int) {
	var used []int
	for _, s := range plan {
		used = append(used, s.cols...)
	}
	slices.Sort(used)
	used = slices.Compact(used)
	fields := map[int]int{}
	var leaves []int
	for pos, i := range used {
		fields[i] = pos
		leaves = appendLeaves(leaves, &m.Fields[i])
	}
	return fields, leaves
}

func appendLeaves(dst []int, f *pqarrow.SchemaField) []int {
	if f.IsLeaf() {
		return append(dst, f.ColIndex)
	}
	for i := range f.Children {
		dst = appendLeaves(dst, &f.Children[i])
	}
	return dst
}

func readRowGroup(ctx context.Context, fr *pqarrow.FileReader, rg int, leaves []int, fields map[int]int, plan []source, c *rawChunker) error {
	rr, err := fr.GetRecordReader(ctx, leaves, []int{rg})
	if err != nil {
		return runtime.Errorf(runtime.KindInvalidArgument, "read Parquet row group %d: %v", rg, err)
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.RecordBatch()
		for off, n := 0, int(rec.NumRows()); off < n; {
			take := min(c.room(), n-off)
			for k, s := range plan {
				if c.bufs[k], err = appendSource(c.bufs[k], rec, fields, s, c.l.specs[k], off, take, c.total); err != nil {
					return err
				}
			}
			if err := c.added(take); err != nil {
				return err
			}
			off += take
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		if strings.Contains(err.Error(), "page size") && strings.Contains(err.Error(), "exceeds") {
			return runtime.Errorf(runtime.KindInvalidArgument, "read Parquet row group %d: %v: with %d columns read together, "+
				"a page may hold at most %d bytes (%d MiB of pages in all); write the file with smaller pages (pyarrow: data_page_size)",
				rg, err, len(leaves), pageLimit(len(leaves)), pagesBudget>>20)
		}
		return runtime.Errorf(runtime.KindInvalidArgument, "read Parquet row group %d: %v", rg, err)
	}
	return nil
}

// appendSource appends rows [from, from+n) of an input's columns, in the
// input's datatype, row after row. firstRow numbers row from in errors.
func appendSource(dst []byte, rec arrow.RecordBatch, fields map[int]int, s source, spec rowSpec, from, n int, firstRow int64) ([]byte, error) {
	size := spec.dt.Size()
	if s.list {
		col := rec.Column(fields[s.cols[0]])
		ll, ok := col.(array.ListLike)
		if !ok {
			return dst, fmt.Errorf("column %q is not a list", rec.ColumnName(fields[s.cols[0]]))
		}
		per := int(backends.NumElements(spec.shape))
		for i := from; i < from+n; i++ {
			start, end := ll.ValueOffsets(i)
			if ll.IsNull(i) || int(end-start) != per {
				return dst, rowErr(rec.ColumnName(fields[s.cols[0]]), firstRow+int64(i-from), ll.IsNull(i), int(end-start), per)
			}
		}
		if n == 0 {
			return dst, nil
		}
		start, _ := ll.ValueOffsets(from)
		_, end := ll.ValueOffsets(from + n - 1)
		rowOf := func(i int) int64 { return firstRow + int64((i-int(start))/per) }
		return appendValues(dst, ll.ListValues(), int(start), int(end), spec, rec.ColumnName(fields[s.cols[0]]), rowOf)
	}
	rowOf := func(i int) int64 { return firstRow + int64(i-from) }
	if len(s.cols) == 1 {
		return appendValues(dst, rec.Column(fields[s.cols[0]]), from, from+n, spec, rec.ColumnName(fields[s.cols[0]]), rowOf)
	}
	// Scalar feature columns: column c is element c of every row.
	width := len(s.cols)
	at := len(dst)
	dst = slices.Grow(dst, n*width*size)[:at+n*width*size]
	var tmp []byte
	for c, fi := range s.cols {
		var err error
		if tmp, err = appendValues(tmp[:0], rec.Column(fields[fi]), from, from+n, spec, rec.ColumnName(fields[fi]), rowOf); err != nil {
			return dst[:at], err
		}
		for i := range n {
			copy(dst[at+(i*width+c)*size:], tmp[i*size:(i+1)*size])
		}
	}
	return dst, nil
}

// nullHint follows an error naming a null: pandas writes a float
// column's NaN, and a missing value, as null (df.to_parquet and
// pa.Table.from_pandas both do); pyarrow keeps NaN as a value in an array
// made with from_pandas=False.
const nullHint = "; pandas writes NaN as null in Parquet: fill them (df.fillna), or keep NaN as a value by writing the file with pyarrow, " +
	"pq.write_table(pa.table({c: pa.array(df[c], from_pandas=False) for c in df}), path)"

func rowErr(col string, row int64, null bool, got, want int) error {
	if null {
		return runtime.Errorf(runtime.KindInvalidArgument, "Parquet column %q is null at row %d%s", col, row, nullHint)
	}
	return runtime.Errorf(runtime.KindInvalidArgument, "Parquet column %q has %d values at row %d; the input takes %d per row", col, got, row, want)
}

// appendValues appends elements [start, end) of a scalar array in the
// input's datatype: copied as they are when the types agree, else
// converted (an integer column into a float input, FLOAT64 into FP32).
// A float column does not feed an integer input. A null, or a value the
// input's datatype cannot hold (an INT64 past INT32's range, a FLOAT64
// past FP32's), is refused, naming the file's row: rowOf gives the row of
// element i.
func appendValues(dst []byte, a arrow.Array, start, end int, spec rowSpec, col string, rowOf func(int) int64) ([]byte, error) {
	if a.NullN() > 0 {
		for i := start; i < end; i++ {
			if a.IsNull(i) {
				return dst, runtime.Errorf(runtime.KindInvalidArgument, "Parquet column %q holds a null value at row %d%s", col, rowOf(i), nullHint)
			}
		}
	}
	dt := spec.dt
	if same(a.DataType(), dt) && dt != backends.Bool {
		size := dt.Size()
		d := a.Data()
		raw := d.Buffers()[1].Bytes()
		return append(dst, raw[(d.Offset()+start)*size:(d.Offset()+end)*size]...), nil
	}
	floatIn := dt == backends.FP32 || dt == backends.FP64
	bad := -1
	switch v := a.(type) {
	case *array.Float32:
		if !floatIn {
			break
		}
		dst, bad = convert(dst, v.Float32Values()[start:end], dt)
	case *array.Float64:
		if !floatIn {
			break
		}
		dst, bad = convert(dst, v.Float64Values()[start:end], dt)
	case *array.Int8:
		dst, bad = convert(dst, v.Int8Values()[start:end], dt)
	case *array.Int16:
		dst, bad = convert(dst, v.Int16Values()[start:end], dt)
	case *array.Int32:
		dst, bad = convert(dst, v.Int32Values()[start:end], dt)
	case *array.Int64:
		dst, bad = convert(dst, v.Int64Values()[start:end], dt)
	case *array.Uint8:
		dst, bad = convert(dst, v.Uint8Values()[start:end], dt)
	case *array.Uint16:
		dst, bad = convert(dst, v.Uint16Values()[start:end], dt)
	case *array.Uint32:
		dst, bad = convert(dst, v.Uint32Values()[start:end], dt)
	case *array.Uint64:
		dst, bad = convert(dst, v.Uint64Values()[start:end], dt)
	case *array.Boolean:
		b := make([]uint8, 0, end-start)
		for i := start; i < end; i++ {
			if v.Value(i) {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		}
		dst, bad = convert(dst, b, dt)
	default:
		return dst, runtime.Errorf(runtime.KindInvalidArgument, "Parquet column %q is %s; input %q takes %s", col, a.DataType(), spec.name, dt)
	}
	switch {
	case bad >= 0:
		return dst, runtime.Errorf(runtime.KindInvalidArgument, "Parquet column %q holds %s at row %d, out of the range of input %q's %s",
			col, a.ValueStr(start+bad), rowOf(start+bad), spec.name, dt)
	case floatIn || !isFloat(a.DataType()):
		return dst, nil
	}
	return dst, runtime.Errorf(runtime.KindInvalidArgument, "Parquet column %q is %s; input %q takes %s", col, a.DataType(), spec.name, dt)
}

func isFloat(t arrow.DataType) bool { return t.ID() == arrow.FLOAT32 || t.ID() == arrow.FLOAT64 }

func same(t arrow.DataType, dt backends.DataType) bool {
	want := map[backends.DataType]arrow.Type{backends.Int8: arrow.INT8, backends.Int16: arrow.INT16, backends.Int32: arrow.INT32,
		backends.Int64: arrow.INT64, backends.Uint8: arrow.UINT8, backends.Uint16: arrow.UINT16, backends.Uint32: arrow.UINT32,
		backends.Uint64: arrow.UINT64, backends.FP32: arrow.FLOAT32, backends.FP64: arrow.FLOAT64}
	id, ok := want[dt]
	return ok && t.ID() == id
}

type number interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// convert appends src's values as dt's elements (little-endian, as Go
// lays them out on every platform tiffin runs on). It returns the index
// of the first value dt cannot hold, or -1.
func convert[S number](dst []byte, src []S, dt backends.DataType) ([]byte, int) {
	switch dt {
	case backends.FP32:
		return convertTo[float32](dst, src)
	case backends.FP64:
		return convertTo[float64](dst, src)
	case backends.Int8:
		return convertTo[int8](dst, src)
	case backends.Int16:
		return convertTo[int16](dst, src)
	case backends.Int32:
		return convertTo[int32](dst, src)
	case backends.Int64:
		return convertTo[int64](dst, src)
	case backends.Uint8, backends.Bool:
		return convertTo[uint8](dst, src)
	case backends.Uint16:
		return convertTo[uint16](dst, src)
	case backends.Uint32:
		return convertTo[uint32](dst, src)
	case backends.Uint64:
		return convertTo[uint64](dst, src)
	}
	return dst, -1
}

// convertTo converts src to T, stopping at the first value T cannot hold:
// an integer that does not come back the same (wrapped, or its sign
// lost), or a finite float that becomes infinite. Rounding an integer or
// a float to the nearest float is no error, as in JSON.
func convertTo[T, S number](dst []byte, src []S) ([]byte, int) {
	out := make([]T, len(src))
	var zero T
	toFloat := isFloatOf(zero)
	for i, v := range src {
		t := T(v)
		if toFloat {
			f, g := float64(v), float64(t)
			if math.IsInf(g, 0) && !math.IsInf(f, 0) {
				return dst, i
			}
		} else if S(t) != v || (t < 0) != (v < 0) {
			return dst, i
		}
		out[i] = t
	}
	return append(dst, asBytes(out)...), -1
}

// isFloatOf reports whether T is a float type.
func isFloatOf[T number](T) bool {
	var one T = 1
	return one/2 != 0
}

// spool gives a Parquet upload the random access its reader needs: the
// upload itself when it has it, else a copy in a temporary file under
// dir, removed by the returned func. It is copied at the upload's pace,
// paced by p in turn, and never held in memory.
func spool(body io.Reader, dir string, p *pacer) (parquet.ReaderAtSeeker, func(), error) {
	if ras, ok := body.(parquet.ReaderAtSeeker); ok {
		return ras, func() {}, nil
	}
	f, err := os.CreateTemp(dir, spoolPattern)
	if err != nil {
		return nil, nil, fmt.Errorf("spool the Parquet upload: %w", err)
	}
	_ = lockSpool(f) // held until the file is closed: it is no one's leftover
	done := func() { _ = f.Close(); _ = os.Remove(f.Name()) }
	w := writeDirect(f) // see direct.go
	defer w.done()
	w.overlapping() // the socket is read while the last megabyte is written
	var size int64
	err = p.copy(w, body)
	if err == nil {
		size, err = w.finish()
	}
	if err != nil {
		_ = w.wait() // no write left in flight to the file removed
		done()
		return nil, nil, spoolError(err)
	}
	return readDirectAt(w, size), done, nil
}

// spoolError says why a Parquet upload could not be spooled: a job
// cancelled meanwhile as it is; the server's own disk failing as an
// internal error, not the client's fault; the upload too large, or
// unreadable (cut short), as the client's.
func spoolError(err error) error {
	var we *writeError
	switch {
	case runtime.KindOf(err) == runtime.KindConflict:
		return err
	case errors.As(err, &we):
		// %w: a full disk (ENOSPC) stays in the chain, for Submit's 507.
		return runtime.Errorf(runtime.KindInternal, "spool the Parquet upload: %w", we.err)
	case runtime.KindOf(err) == runtime.KindTooLarge:
		return runtime.Errorf(runtime.KindTooLarge, "read the Parquet upload: %w", err)
	}
	return runtime.Errorf(runtime.KindInvalidArgument, "read the Parquet upload: %w", err)
}

// spoolPattern names spool files (os.CreateTemp puts digits in its *).
const spoolPattern = "tiffin-upload-*.parquet"

// staleAfter is how old a spool file must be, besides unlocked, to be
// taken for a leftover: one just created may not be locked yet.
const staleAfter = time.Minute

// clearStaleSpools removes the spool files in dir (the OS temp dir when
// empty) that a killed process left: regular files named as spools are,
// unlocked and not written for staleAfter. A spool an external cluster's
// replica on the same host is writing or reading is locked and stays. It
// returns how many it removed.
func clearStaleSpools(dir string) int {
	if dir == "" {
		dir = os.TempDir()
	}
	entries, _ := os.ReadDir(dir)
	removed := 0
	for _, e := range entries {
		if !isSpoolName(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() || time.Since(fi.ModTime()) < staleAfter || !staleSpool(p) {
			continue
		}
		if os.Remove(p) == nil {
			removed++
		}
	}
	return removed
}

// isSpoolName reports whether name is one os.CreateTemp gives for
// spoolPattern.
func isSpoolName(name string) bool {
	prefix, suffix, _ := strings.Cut(spoolPattern, "*")
	mid, isPrefixed := strings.CutPrefix(name, prefix)
	mid, isSuffixed := strings.CutSuffix(mid, suffix)
	if !isPrefixed || !isSuffixed || mid == "" {
		return false
	}
	for _, c := range mid {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// recycler keeps the buffers arrow-go frees for its next allocations, so
// reading a file's column chunks one after another reuses one chunk's page
// buffers instead of making garbage of them: a quarter of the bytes an
// mlp-small job allocated. It hands out zeroed memory, as arrow-go's own
// allocator does.
type recycler struct {
	mem  memory.Allocator
	keep int // how many freed buffers it keeps; 0: recycled
	mu   sync.Mutex
	free [][]byte
}

// recycled is how many freed buffers a recycler keeps by default.
const recycled = 8

// Allocate hands out the smallest kept buffer that fits, so that a small
// allocation does not take a large buffer the next large one needs.
func (r *recycler) Allocate(n int) []byte {
	r.mu.Lock()
	best := -1
	for i, b := range r.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(r.free[best])) {
			best = i
		}
	}
	if best >= 0 {
		b := r.free[best]
		r.free = slices.Delete(r.free, best, best+1)
		r.mu.Unlock()
		b = b[:n]
		clear(b)
		return b
	}
	r.mu.Unlock()
	return r.mem.Allocate(n)
}

func (r *recycler) Reallocate(n int, b []byte) []byte {
	if n <= cap(b) {
		old := len(b)
		b = b[:n]
		if n > old {
			clear(b[old:])
		}
		return b
	}
	nb := r.Allocate(n)
	copy(nb, b)
	r.Free(b)
	return nb
}

func (r *recycler) Free(b []byte) {
	if cap(b) == 0 {
		return
	}
	r.mu.Lock()
	keep := len(r.free) < cmp.Or(r.keep, recycled)
	if keep {
		r.free = append(r.free, b[:0])
	}
	r.mu.Unlock()
	if !keep {
		r.mem.Free(b)
	}
}
