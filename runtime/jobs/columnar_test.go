package jobs

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/jobs/jobstest"
	"github.com/tiffin-ml/tiffin/runtime/npy"
)

// parquetFile writes rows of the test input as Parquet with arrow's own
// writer: a fixed-size-list column "input" beside an "id" column (list),
// or 16 scalar FLOAT64 columns fa..fp after a string "id" column
// (scalar); groupRows rows per row group.
func parquetFile(t *testing.T, rows, groupRows int, scalar bool) []byte {
	t.Helper()
	if !scalar {
		return jobstest.Parquet(t, rows, groupRows, rowValues)
	}
	fields := []arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}}
	for k := range 16 {
		fields = append(fields, arrow.Field{Name: "f" + string(rune('a'+k)), Type: arrow.PrimitiveTypes.Float64})
	}
	return jobstest.Write(t, arrow.NewSchema(fields, nil), rows, groupRows, func(b *array.RecordBuilder, i int) {
		b.Field(0).(*array.StringBuilder).Append("r")
		for k, v := range rowValues(i) {
			b.Field(1 + k).(*array.Float64Builder).Append(float64(v))
		}
	})
}

func npyFile(rows int) []byte {
	b := npy.AppendHeader(nil, backends.FP32, []int64{int64(rows), 16})
	for i := range rows {
		b = append(b, f32Bytes(rowValues(i))...)
	}
	return b
}

func mlpLayout(t testing.TB, f Format) *layout {
	t.Helper()
	v, _ := newRefModels().Version("mlp-small", 1)
	l, err := newLayout("mlp-small", rowSpecs(&v.Sig), f)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// collect gathers the raw chunks a split emits, checking they number rows
// and chunks in order, and returns every row's values.
func collect(t *testing.T, rows int) (func(chunkRef, []byte) error, func() [][]float32) {
	var got [][]float32
	next := int64(0)
	return func(c chunkRef, data []byte) error {
			if c.firstRow != next || len(data) != c.rows*64 {
				t.Fatalf("chunk %+v of %d bytes after row %d", c, len(data), next)
			}
			next += int64(c.rows)
			x := f32s(data)
			for r := range c.rows {
				got = append(got, x[16*r:16*r+16])
			}
			return nil
		}, func() [][]float32 {
			if len(got) != rows {
				t.Fatalf("%d rows read, want %d", len(got), rows)
			}
			return got
		}
}

func checkRows(t *testing.T, got [][]float32) {
	t.Helper()
	for i, x := range got {
		want := rowValues(i)
		for k := range want {
			if x[k] != want[k] {
				t.Fatalf("row %d value %d: %v, want %v", i, k, x[k], want[k])
			}
		}
	}
}

func TestSplitParquetListAndScalarColumns(t *testing.T) {
	l := mlpLayout(t, Parquet)
	for _, scalar := range []bool{false, true} {
		data := parquetFile(t, 1000, 300, scalar)
		emit, done := collect(t, 1000)
		declared, emitted := int64(-1), false
		declare := func(n int64) {
			if emitted {
				t.Errorf("scalar=%v: the footer's rows declared after a chunk", scalar)
			}
			declared = n
		}
		first := func(c chunkRef, data []byte) error { emitted = true; return emit(c, data) }
		rows, chunks, err := splitParquet(context.Background(), "mlp-small", l, bytes.NewReader(data), nil, 128, memory.DefaultAllocator, declare, first)
		if err != nil || rows != 1000 || chunks != 8 || declared != 1000 {
			t.Fatalf("scalar=%v: %d rows, %d chunks (%d declared), %v", scalar, rows, chunks, declared, err)
		}
		checkRows(t, done())
	}
	// columns= picks (and orders) the scalar features.
	cols := []string{}
	for k := range 16 {
		cols = append(cols, "f"+string(rune('a'+k)))
	}
	emit, done := collect(t, 10)
	if _, _, err := splitParquet(context.Background(), "mlp-small", l, bytes.NewReader(parquetFile(t, 10, 4, true)), cols, 3, memory.DefaultAllocator, nil, emit); err != nil {
		t.Fatal(err)
	}
	checkRows(t, done())
}

func TestSplitParquetErrorsNameTheProblem(t *testing.T) {
	l := mlpLayout(t, Parquet)
	good := parquetFile(t, 10, 5, true)
	cases := []struct {
		data    []byte
		columns []string
		want    string
	}{
		{[]byte("PAR1 but not really a parquet file PAR1"), nil, "not a readable Parquet file"},
		{good[:len(good)/2], nil, "not a readable Parquet file"},
		{good, []string{"fa", "nope"}, `no column "nope"`},
		{good, []string{"id"}, `column "id" is utf8`},
		{good, []string{"fa", "fb"}, "2 feature columns, but input \"input\" takes 16 values per row"},
	}
	for _, c := range cases {
		_, _, err := splitParquet(context.Background(), "mlp-small", l, bytes.NewReader(c.data), c.columns, 8, memory.DefaultAllocator, nil,
			func(chunkRef, []byte) error { return nil })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("columns %v: want an error naming %q, got %v", c.columns, c.want, err)
		}
	}
}

// peakAllocator records the most memory arrow held at once.
type peakAllocator struct {
	memory.Allocator
	cur, peak atomic.Int64
}

func (a *peakAllocator) Allocate(n int) []byte {
	if c := a.cur.Add(int64(n)); c > a.peak.Load() {
		a.peak.Store(c)
	}
	return a.Allocator.Allocate(n)
}

func (a *peakAllocator) Reallocate(n int, b []byte) []byte {
	a.cur.Add(int64(n - len(b)))
	if c := a.cur.Load(); c > a.peak.Load() {
		a.peak.Store(c)
	}
	return a.Allocator.Reallocate(n, b)
}

func (a *peakAllocator) Free(b []byte) {
	a.cur.Add(-int64(len(b)))
	a.Allocator.Free(b)
}

// TestSplitParquetIsStreamed reads a file of 16 MB of rows (decoded),
// 1024 rows at a time: arrow never holds more than a small part of it.
// Its buffers come from mem, which counts them; before readProps, a
// whole column chunk was read into a buffer mem never saw.
func TestSplitParquetIsStreamed(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 256k-row file")
	}
	const rows = 1 << 18
	data := parquetFile(t, rows, 1<<14, false)
	mem := &peakAllocator{Allocator: memory.NewGoAllocator()}
	l := mlpLayout(t, Parquet)
	n, _, err := splitParquet(context.Background(), "mlp-small", l, bytes.NewReader(data), nil, 1024, mem, nil, func(chunkRef, []byte) error { return nil })
	if err != nil || n != rows {
		t.Fatal(n, err)
	}
	decoded := int64(rows * 64)
	t.Logf("peak arrow memory %d bytes for %d bytes of rows (%d of Parquet)", mem.peak.Load(), decoded, len(data))
	// A column chunk is read a buffer at a time (readProps), so arrow holds
	// about a page compressed and decompressed (~1 MiB each here).
	if mem.peak.Load() > decoded/4 {
		t.Fatalf("arrow held %d bytes at once, more than a quarter of the %d decoded: not streamed", mem.peak.Load(), decoded)
	}
}

func TestSplitNPY(t *testing.T) {
	l := mlpLayout(t, NPY)
	emit, done := collect(t, 100)
	rows, chunks, err := splitNPY("mlp-small", l, bytes.NewReader(npyFile(100)), 30, emit)
	if err != nil || rows != 100 || chunks != 4 {
		t.Fatalf("%d rows, %d chunks, %v", rows, chunks, err)
	}
	checkRows(t, done())
	f64 := npy.AppendHeader(nil, backends.FP64, []int64{2, 16})
	wide := npy.AppendHeader(nil, backends.FP32, []int64{2, 17})
	for _, c := range []struct {
		data []byte
		want string
	}{
		{npyFile(100)[:1000], fmt.Sprintf("the .npy data ends within row %d of the 100", (1000-len(npy.AppendHeader(nil, backends.FP32, []int64{100, 16})))/64)},
		{append(f64, make([]byte, 256)...), "the .npy array is FP64; input \"input\" of model mlp-small takes FP32"},
		{append(wide, make([]byte, 136)...), "shape [2 17]"},
		{[]byte("\x93NUMPY\x07"), "not a .npy file"},
		// 20 rows behind a header that declares 10: the last 10 would
		// have been dropped in silence, the job succeeding.
		{append(npy.AppendHeader(nil, backends.FP32, []int64{10, 16}), make([]byte, 20*64)...), "goes on past the 10 rows of shape [10 16]"},
		{append(npyFile(3), 'x'), "goes on past the 3 rows"},
	} {
		_, _, err := splitNPY("mlp-small", l, bytes.NewReader(c.data), 30, func(chunkRef, []byte) error { return nil })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error naming %q, got %v", c.want, err)
		}
	}
}

func TestSniff(t *testing.T) {
	for in, want := range map[string]Format{"PAR1xxxx": Parquet, npy.Magic + "\x01\x00": NPY,
		"\n  {\"input\":[1]}": NDJSON, "\xef\xbb\xbf{}": NDJSON, "1,2,3\n": CSV, "a,b\n1,2": CSV} {
		if got := sniff(bufioReader(in)); got != want {
			t.Errorf("%q: sniffed %s, want %s", in, got, want)
		}
	}
}

// readParquetResults reads results rendered as Parquet with arrow's reader.
func readParquetResults(t *testing.T, data []byte) []resultLine {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 20}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	rr := array.NewTableReader(tbl, 1<<20)
	defer rr.Release()
	var out []resultLine
	for rr.Next() {
		rec := rr.RecordBatch()
		rows := rec.Column(0).(*array.Int64)
		errs := rec.Column(1).(*array.String)
		outs, ok := rec.Column(2).(*array.FixedSizeList)
		if !ok {
			t.Fatalf("output column is %s, want a fixed-size list", rec.Column(2).DataType())
		}
		vals := outs.ListValues().(*array.Float32)
		for i := range int(rec.NumRows()) {
			l := resultLine{Row: rows.Value(i)}
			if errs.IsValid(i) {
				l.Error = errs.Value(i)
			} else {
				start, end := outs.ValueOffsets(i)
				l.Outputs = map[string][]float64{"output": nil}
				for j := start; j < end; j++ {
					l.Outputs["output"] = append(l.Outputs["output"], float64(vals.Value(int(j))))
				}
			}
			out = append(out, l)
		}
	}
	return out
}

// TestPoisonChunkFailsOnlyItsRows: a chunk whose scoring crashes every
// time is redelivered MaxRedeliveries times (NoRedelivery: none), then its
// rows fail with the reason; the other chunks' rows are scored and the job
// succeeds.
func TestPoisonChunkFailsOnlyItsRows(t *testing.T) {
	for redeliveries, again := range map[int]string{1: "and when redelivered 1 times", NoRedelivery: "and is not redelivered"} {
		m := newRefModels()
		s := startService(t, m, t.TempDir(), func(o *Options) {
			o.ChunkBytes = 64 * 10
			o.ChunkRows = 0
			o.MaxRedeliveries = redeliveries
		})
		in := npyFile(50)
		hdr := len(npy.AppendHeader(nil, backends.FP32, []int64{50, 16}))
		copy(in[hdr+23*64:], f32Bytes([]float32{777})) // row 23: chunk 2, rows 20-29
		st, err := s.Submit(context.Background(), "mlp-small", 0, Input{Format: NPY}, bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		st = waitFinished(t, s, st.ID, 30*time.Second)
		if st.State != Succeeded || st.RowsDone != 50 || st.RowsFailed != 10 || st.ChunksDone != 5 {
			t.Fatalf("%+v", st)
		}
		rc, _, err := s.Results(context.Background(), st.ID, ResultsNDJSON)
		if err != nil {
			t.Fatal(err)
		}
		lines := readResults(t, rc)
		rc.Close()
		bad := map[int]bool{}
		want := "chunk 2 (rows 20-29) failed when delivered " + again
		for i := 20; i < 30; i++ {
			bad[i] = true
			if e := lines[i].Error; !strings.Contains(e, want) || !strings.Contains(e, "scoring crashed on a poison row") {
				t.Fatalf("row %d: %q, want the poison reason", i, e)
			}
		}
		// The expected values of the poisoned rows do not matter: they failed.
		checkResults(t, lines, 50, bad)
		// /metrics counts the poison chunk, its redeliveries and its rows.
		if n := &s.counts; n.chunksPoisoned.Load() != 1 || n.redeliveries.Load() < 1 || n.rowsFailed.Load() != 10 || n.rowsScored.Load() != 40 {
			t.Errorf("counts: poisoned %d, redeliveries %d, rows failed %d, scored %d; want 1, at least 1, 10, 40",
				n.chunksPoisoned.Load(), n.redeliveries.Load(), n.rowsFailed.Load(), n.rowsScored.Load())
		}
	}
}

// TestParquetAndNPYJobs runs real jobs on the embedded JetStream: Parquet
// and NPY in, results read back as NDJSON and as Parquet, within 1e-5 of
// the reference.
func TestParquetAndNPYJobs(t *testing.T) {
	m := newRefModels()
	dir := t.TempDir()
	s := startService(t, m, dir, func(o *Options) { o.ChunkBytes = 64 * 50; o.ChunkRows = 0 })
	ctx := context.Background()
	for name, in := range map[string][]byte{"parquet": parquetFile(t, 777, 200, false), "npy": npyFile(777)} {
		st, err := s.Submit(ctx, "mlp-small", 0, Input{}, bytes.NewReader(in)) // format sniffed
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if st.RowsTotal != 777 || st.Chunks != 16 {
			t.Fatalf("%s: %+v", name, st)
		}
		st = waitFinished(t, s, st.ID, 30*time.Second)
		if st.State != Succeeded || st.RowsDone != 777 || st.RowsFailed != 0 || st.ChunksDone != 16 {
			t.Fatalf("%s: %+v", name, st)
		}
		rc, _, err := s.Results(ctx, st.ID, ResultsNDJSON)
		if err != nil {
			t.Fatal(err)
		}
		checkResults(t, readResults(t, rc), 777, nil)
		rc.Close()
		rc, _, err = s.Results(ctx, st.ID, ResultsParquet)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		checkResults(t, readParquetResults(t, buf.Bytes()), 777, nil)
		// A chunk's result that cannot be read (deleted during the
		// download) ends the file without its footer: no reader may take
		// the rows before it for all of them.
		removeResult(t, dir, st.ID, 8)
		rc, _, err = s.Results(ctx, st.ID, ResultsParquet)
		if err != nil {
			t.Fatal(err)
		}
		buf.Reset()
		_, err = buf.ReadFrom(rc)
		rc.Close()
		if err == nil || bytes.HasSuffix(buf.Bytes(), []byte("PAR1")) {
			t.Fatalf("%s: a result missing chunk 8 read as %d bytes ending %q, error %v; want an error and no footer",
				name, buf.Len(), buf.Bytes()[max(0, buf.Len()-4):], err)
		}
	}
}

// removeResult deletes the file of one chunk's result under a data dir.
func removeResult(t *testing.T, dir, job string, chunk int) {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "results", job, strconv.Itoa(chunk)))
	more, _ := filepath.Glob(filepath.Join(dir, "results", job, strconv.Itoa(chunk)))
	paths = append(paths, more...)
	if len(paths) != 1 {
		t.Fatalf("result files of chunk %d of job %s: %v", chunk, job, paths)
	}
	if err := os.Remove(paths[0]); err != nil {
		t.Fatal(err)
	}
}

// TestSplitParquetMultiInput maps one column per input by name, converting
// an INT32 column into an INT64 input, ignoring other columns; the raw
// chunk holds input a's rows, then input b's.
func TestSplitParquetMultiInput(t *testing.T) {
	sc := arrow.NewSchema([]arrow.Field{{Name: "note", Type: arrow.BinaryTypes.String},
		{Name: "b", Type: arrow.PrimitiveTypes.Int32}, {Name: "a", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)}}, nil)
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(sc, &buf, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(3)), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	for i := range 7 {
		rb.Field(0).(*array.StringBuilder).Append("x")
		rb.Field(1).(*array.Int32Builder).Append(int32(-i))
		lb := rb.Field(2).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Float32Builder).AppendValues([]float32{float32(i), float32(i) + 0.5, float32(i) + 0.25}, nil)
	}
	rec := rb.NewRecordBatch()
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	rb.Release()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	specs := []rowSpec{{name: "a", dt: backends.FP32, shape: []int64{3}}, {name: "b", dt: backends.Int64, shape: []int64{}}}
	l, err := newLayout("two", specs, Parquet)
	if err != nil {
		t.Fatal(err)
	}
	var got []chunkRef
	var as []float32
	var bs []int64
	rows, _, err := splitParquet(context.Background(), "two", l, bytes.NewReader(buf.Bytes()), nil, 2, memory.DefaultAllocator, nil, func(c chunkRef, data []byte) error {
		got = append(got, c)
		as = append(as, f32s(data[:c.rows*12])...)
		for r := range c.rows {
			bs = append(bs, int64(binary.LittleEndian.Uint64(data[c.rows*12+8*r:])))
		}
		return nil
	})
	if err != nil || rows != 7 || len(got) != 4 || got[3].rows != 1 || got[3].firstRow != 6 {
		t.Fatalf("%d rows, chunks %+v, %v", rows, got, err)
	}
	for i := range 7 {
		if as[3*i] != float32(i) || as[3*i+2] != float32(i)+0.25 || bs[i] != int64(-i) {
			t.Fatalf("row %d: a %v b %d", i, as[3*i:3*i+3], bs[i])
		}
	}
	// A list column of the wrong length names the row.
	specs[0].shape = []int64{4}
	l, _ = newLayout("two", specs, Parquet)
	_, _, err = splitParquet(context.Background(), "two", l, bytes.NewReader(buf.Bytes()), nil, 2, memory.DefaultAllocator, nil, func(chunkRef, []byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), `Parquet column "a" has 3 values at row 0; the input takes 4 per row`) {
		t.Fatalf("want the row named, got %v", err)
	}
}

// A value the input's datatype cannot hold (an INT64 past INT32, a FLOAT64
// past FP32) or a null element is refused, naming the column and the
// file's row, across row groups, where it used to wrap or become +Inf.
// A null is said to be how pandas writes NaN, with how to keep NaN.
func TestSplitParquetRefusesWhatTheInputCannotHold(t *testing.T) {
	sc := arrow.NewSchema([]arrow.Field{{Name: "b", Type: arrow.PrimitiveTypes.Int64},
		{Name: "a", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64)}}, nil)
	specs := []rowSpec{{name: "a", dt: backends.FP32, shape: []int64{3}}, {name: "b", dt: backends.Int32, shape: []int64{}}}
	l, err := newLayout("two", specs, Parquet)
	if err != nil {
		t.Fatal(err)
	}
	file := func(bad int, b int64, a float64, null bool) []byte {
		return jobstest.Write(t, sc, 7, 3, func(rb *array.RecordBuilder, i int) {
			v := int64(-i)
			if i == bad {
				v = b
			}
			rb.Field(0).(*array.Int64Builder).Append(v)
			lb := rb.Field(1).(*array.ListBuilder)
			lb.Append(true)
			vb := lb.ValueBuilder().(*array.Float64Builder)
			vb.AppendValues([]float64{float64(i), 0.5}, nil)
			switch {
			case i == bad && null:
				vb.AppendNull()
			case i == bad:
				vb.Append(a)
			default:
				vb.Append(0.25)
			}
		})
	}
	for _, c := range []struct {
		data []byte
		want string
	}{
		{file(5, 1<<33+5, 0, false), `column "b" holds 8589934597 at row 5, out of the range of input "b"'s INT32`},
		{file(4, 0, 1e300, false), `column "a" holds 1e+300 at row 4, out of the range of input "a"'s FP32`},
		{file(4, 0, 0, true), `column "a" holds a null value at row 4; pandas writes NaN as null in Parquet: fill them (df.fillna), ` +
			`or keep NaN as a value by writing the file with pyarrow, pq.write_table(pa.table({c: pa.array(df[c], from_pandas=False) for c in df}), path)`},
	} {
		_, _, err := splitParquet(context.Background(), "two", l, bytes.NewReader(c.data), nil, 2, memory.DefaultAllocator, nil,
			func(chunkRef, []byte) error { return nil })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v, want an error naming %q", err, c.want)
		}
	}
	if _, _, err := splitParquet(context.Background(), "two", l, bytes.NewReader(file(-1, 0, 0, false)), nil, 2, memory.DefaultAllocator, nil,
		func(chunkRef, []byte) error { return nil }); err != nil {
		t.Fatalf("a file the inputs can hold: %v", err)
	}
}

// peekingReader hides a body's random access, so it is spooled, and runs
// peek once it has handed out half of it.
type peekingReader struct {
	r    io.Reader
	left int
	peek func()
}

func (p *peekingReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b[:min(len(b), 4096)])
	if p.left -= n; p.left <= 0 && p.peek != nil {
		p.peek()
		p.peek = nil
	}
	return n, err
}

// TestSpoolInDataDir: with the embedded store a Parquet upload is spooled
// under the data directory's spool/, which a new start empties of what a
// killed process left; the spool is gone once the job is queued.
func TestSpoolInDataDir(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "spool", "tiffin-upload-left.parquet")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("PAR1"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startService(t, newRefModels(), dir, nil)
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a spool left by an earlier process is still there: %v", err)
	}
	in := parquetFile(t, 500, 100, false)
	var during []string
	body := &peekingReader{r: bytes.NewReader(in), left: len(in) / 2, peek: func() {
		during, _ = filepath.Glob(filepath.Join(dir, "spool", "*"))
	}}
	st, err := s.Submit(context.Background(), "mlp-small", 0, Input{}, body)
	if err != nil {
		t.Fatal(err)
	}
	if len(during) != 1 {
		t.Fatalf("files in spool/ halfway through the upload: %v, want its spool", during)
	}
	if after, _ := filepath.Glob(filepath.Join(dir, "spool", "*")); len(after) != 0 {
		t.Fatalf("files in spool/ once the job was queued: %v", after)
	}
	if st = waitFinished(t, s, st.ID, 30*time.Second); st.State != Succeeded || st.RowsDone != 500 {
		t.Fatalf("%+v", st)
	}
}

// TestDeclaredRowsWhileUploading: while an .npy upload is still being read,
// the job's status already has the rows its header declares as its total;
// sealing leaves the rows read.
func TestDeclaredRowsWhileUploading(t *testing.T) {
	s := startService(t, newRefModels(), t.TempDir(), func(o *Options) { o.Workers = 0 })
	ctx := context.Background()
	in := npyFile(5000) // 320 kB: more than the splitter's buffer
	var during []Status
	body := &peekingReader{r: bytes.NewReader(in), left: len(in) / 2, peek: func() {
		during, _ = s.List(ctx)
	}}
	st, err := s.Submit(ctx, "mlp-small", 0, Input{Format: NPY}, body)
	if err != nil {
		t.Fatal(err)
	}
	if len(during) != 1 || during[0].ID != st.ID || during[0].RowsTotal != 5000 {
		t.Fatalf("halfway through the upload: %+v, want its job with the 5000 rows its header declares", during)
	}
	if st.RowsTotal != 5000 {
		t.Fatalf("sealed: %+v", st)
	}
	// An upload cut short fails, and keeps no total it never queued.
	if _, err := s.Submit(ctx, "mlp-small", 0, Input{Format: NPY}, bytes.NewReader(in[:len(in)/2])); err == nil {
		t.Fatal("a truncated .npy upload was accepted")
	}
	all, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range all {
		if j.ID != st.ID && (j.State != Failed || j.RowsTotal != 0) {
			t.Fatalf("the truncated upload's job: %+v, want failed with rows_total 0", j)
		}
	}
	if len(all) != 2 {
		t.Fatalf("%d jobs, want 2", len(all))
	}
}

// TestDeclaredRowsParquetFile: a Parquet upload that is a file already (no
// spool between: the body is read in place) is split whole. Its footer is
// read once, by the split, which declares its rows: a separate reader of
// the footer had closed the file under the split (502128c).
func TestDeclaredRowsParquetFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.parquet")
	if err := os.WriteFile(path, parquetFile(t, 300, 64, false), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := startService(t, newRefModels(), t.TempDir(), func(o *Options) { o.Workers = 0 })
	st, err := s.Submit(context.Background(), "mlp-small", 0, Input{Format: Parquet}, f)
	if err != nil {
		t.Fatal(err)
	}
	if st.RowsTotal != 300 || st.Chunks == 0 {
		t.Fatalf("sealed: %+v, want 300 rows queued", st)
	}
}

// TestSplitParquetChunksGoInPlace: a full chunk of a one-input model is
// its rows in an aligned buffer, which a chunk file's writer takes without
// copying it (the copy a8606ff saved).
func TestSplitParquetChunksGoInPlace(t *testing.T) {
	l := mlpLayout(t, Parquet)
	perChunk := directPiece / l.total // 1 MiB of rows
	f, err := os.Create(filepath.Join(t.TempDir(), "chunk"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := writeDirect(f)
	defer w.done()
	full := 0
	_, _, err = splitParquet(context.Background(), "mlp-small", l, bytes.NewReader(parquetFile(t, 2*perChunk+100, 5000, false)), nil,
		perChunk, memory.DefaultAllocator, nil, func(c chunkRef, data []byte) error {
			if c.rows == perChunk {
				full++
				if !w.inPlace(data) {
					t.Errorf("chunk %d (%d bytes) would be copied on its way to its file", c.index, len(data))
				}
			}
			return nil
		})
	if err != nil || full != 2 {
		t.Fatalf("%d full chunks, %v; want 2", full, err)
	}
}

// A DataFrame's index, in a file pandas wrote, is not a feature: its
// column (__index_level_0__ for an unnamed index, else its name) is left
// out of the default features, as pandas.read_parquet leaves it out of
// the frame's columns. A filtered frame has one; it made the file's
// features one too many.
func TestSplitParquetLeavesOutThePandasIndex(t *testing.T) {
	l := mlpLayout(t, Parquet)
	for _, index := range [][]string{{"__index_level_0__"}, {"customer_id", "__index_level_1__"}} {
		var fields []arrow.Field
		for k := range 16 {
			fields = append(fields, arrow.Field{Name: "f" + string(rune('a'+k)), Type: arrow.PrimitiveTypes.Float32})
		}
		quoted := []string{`{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}`}
		for _, name := range index {
			fields = append(fields, arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int64})
			quoted = append(quoted, strconv.Quote(name))
		}
		md := arrow.NewMetadata([]string{"pandas"}, []string{`{"index_columns": [` + strings.Join(quoted[1:], ", ") + `], "columns": []}`})
		// As pyarrow writes it: the pandas metadata in the file's key-value
		// metadata, beside the Arrow schema.
		sc := arrow.NewSchema(fields, &md)
		b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
		for i := range 10 {
			for k, v := range rowValues(i) {
				b.Field(k).(*array.Float32Builder).Append(v)
			}
			for k := range index {
				b.Field(16 + k).(*array.Int64Builder).Append(int64(1000 + i))
			}
		}
		rec := b.NewRecordBatch()
		var buf bytes.Buffer
		if err := pqarrow.WriteTable(array.NewTableFromRecords(sc, []arrow.RecordBatch{rec}), &buf, 4, nil,
			pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		b.Release()
		data := buf.Bytes()
		emit, done := collect(t, 10)
		if _, _, err := splitParquet(context.Background(), "mlp-small", l, bytes.NewReader(data), nil, 3, memory.DefaultAllocator, nil, emit); err != nil {
			t.Fatalf("index %v: %v", index, err)
		}
		checkRows(t, done())
	}
}

// A list column whose rows are far wider than the input's is refused
// from the file's schema and footer, before arrow-go's record reader
// gathers a batch of its rows: 2,000 rows of 5,000 FLOAT64 zeros (80 MB
// once read, a few KB in the file) are refused without reading them.
func TestSplitParquetWideListsRefusedUnread(t *testing.T) {
	l := mlpLayout(t, Parquet)
	for _, fixed := range []bool{false, true} {
		typ := arrow.DataType(arrow.ListOf(arrow.PrimitiveTypes.Float64))
		if fixed {
			typ = arrow.FixedSizeListOf(5000, arrow.PrimitiveTypes.Float64)
		}
		data := jobstest.Write(t, arrow.NewSchema([]arrow.Field{{Name: "input", Type: typ}}, nil), 2000, 2000, func(b *array.RecordBuilder, i int) {
			lb := b.Field(0).(array.ListLikeBuilder)
			lb.Append(true)
			vb := lb.ValueBuilder().(*array.Float64Builder)
			for range 5000 {
				vb.Append(0)
			}
		}, parquet.WithCompression(compress.Codecs.Zstd))
		mem := &peakAllocator{Allocator: memory.DefaultAllocator}
		_, _, err := splitParquet(context.Background(), "mlp-small", l, bytes.NewReader(data), nil, 4096, mem, nil,
			func(chunkRef, []byte) error { return nil })
		if runtime.KindOf(err) != runtime.KindInvalidArgument || !strings.Contains(err.Error(), `input "input" takes`) {
			t.Errorf("fixed=%v: %v; want a 400 naming the width", fixed, err)
		}
		if mem.peak.Load() > 8<<20 {
			t.Errorf("fixed=%v: arrow held %d MB to refuse a %d KB file", fixed, mem.peak.Load()>>20, len(data)>>10)
		}
	}
}

// TestParquetPlanNamesUnreadTypes: the column types pandas and pyarrow
// users commonly write but a job does not read, float16 and nested lists
// (a [1, 8, 8] image as lists of lists), are named with what to write
// instead, whether the column is named as the input, picked by columns=,
// or passed over when the features are looked for.
func TestParquetPlanNamesUnreadTypes(t *testing.T) {
	f16, f64 := arrow.FixedWidthTypes.Float16, arrow.PrimitiveTypes.Float64
	nested := arrow.ListOf(arrow.ListOf(arrow.ListOf(f64)))
	image := &layout{specs: []rowSpec{{name: "image", dt: backends.FP32, shape: []int64{1, 8, 8}}}}
	mlp := mlpLayout(t, Parquet)
	fields := func(typ arrow.DataType, names ...string) *arrow.Schema {
		var fs []arrow.Field
		for _, n := range names {
			fs = append(fs, arrow.Field{Name: n, Type: typ, Nullable: true})
		}
		return arrow.NewSchema(fs, nil)
	}
	flatten := "nested lists are not read: flatten each row to its 64 values, in C order (pyarrow: pa.FixedSizeListArray.from_arrays(pc.list_flatten(col, recursive=True), 64))"
	cast := `float16 (pyarrow's halffloat) values are not read: cast them to float32 (pandas: df.astype("float32"))`
	cases := []struct {
		l       *layout
		sc      *arrow.Schema
		columns []string
		want    string
	}{
		{image, fields(nested, "image"), nil, `column "image" is list<item: list<item: list<item: float64, nullable>, nullable>, nullable>; input "image" takes [1 8 8] FP32 per row, and ` + flatten},
		{image, fields(nested, "img"), nil, `no numeric or list column for input "image" (the file has [img]); column "img" is list<item: list<item: list<item: float64, nullable>, nullable>, nullable>: ` + flatten},
		{mlp, fields(f16, "f0", "f1"), nil, `no numeric or list column for input "input" (the file has [f0 f1]); column "f0" is float16: ` + cast},
		{mlp, fields(arrow.ListOf(f16), "input"), nil, `column "input" is list<item: float16, nullable>; input "input" takes [16] FP32 per row, and ` + cast},
		{mlp, fields(f16, "f0", "f1"), []string{"f1"}, `column "f1" is float16; columns= names scalar numeric columns: ` + cast},
		{mlp, arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "f0", Type: f16}}, nil), nil,
			`1 feature columns, but input "input" takes 16 values per row (shape [16]); pick them with columns=a,b,...; column "f0" is float16: ` + cast},
	}
	for _, c := range cases {
		_, err := parquetPlan("m", c.l, c.sc, c.columns)
		if runtime.KindOf(err) != runtime.KindInvalidArgument || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v\nwant a 400 naming %s", c.sc.Fields(), err, c.want)
		}
	}
}
