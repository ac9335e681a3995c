package jobs

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/tiffin-ml/tiffin/backends"
)

// memChunks serves one chunk's result records n times.
type memChunks struct {
	chunk []byte
	left  int
}

func (m *memChunks) read() (*recordReader, error) {
	if m.left == 0 {
		return nil, io.EOF
	}
	m.left--
	return &recordReader{b: m.chunk}, nil
}

// mlpLargeChunk is one chunk's result records: 1,024 mlp-large rows, 512
// floats out each, scored in batches of 64.
func mlpLargeChunk() (chunk []byte, rec *record, bytes int64) {
	const rows, batch, width = 1024, 64, 512
	data := make([]byte, batch*width*4)
	for i := range batch * width {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(float32(math.Sin(float64(i)))))
	}
	for first := 0; first < rows; first += batch {
		out := []backends.Tensor{{Name: "output", DataType: backends.FP32, Shape: []int64{batch, width}, Data: data}}
		chunk = appendOutputsRecord(chunk, int64(first), out, batch, true)
	}
	rec = &record{Status: Status{ID: "bench"}, Outputs: []outSpec{{Name: "output", DataType: backends.FP32, Shape: []int64{width}}}, Batched: true}
	return chunk, rec, rows * width * 4
}

// BenchmarkRenderNDJSON renders one such chunk as NDJSON result lines:
// one op is the chunk.
func BenchmarkRenderNDJSON(b *testing.B) {
	chunk, _, size := mlpLargeChunk()
	b.ReportAllocs()
	b.SetBytes(size)
	var out []byte
	for b.Loop() {
		var err error
		if out, err = appendNDJSON(out[:0], &recordReader{b: chunk}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderParquet renders 16 chunks of 1,024 mlp-large rows (512
// floats out each, scored in batches of 64) as a Parquet download: one op
// is the whole file.
func BenchmarkRenderParquet(b *testing.B) {
	const chunks, rows = 16, 1024
	chunk, rec, size := mlpLargeChunk()
	b.ReportAllocs()
	b.SetBytes(chunks * size)
	for b.Loop() {
		if err := writeParquet(io.Discard, rec, &memChunks{chunk: chunk, left: chunks}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*chunks*rows)/b.Elapsed().Seconds(), "rows/s")
}

// TestParquetResultStats: the results keep statistics for "row" only (a
// reader skips to a row range by them); a model's outputs get none.
func TestParquetResultStats(t *testing.T) {
	data := make([]byte, 4*4*3)
	var chunk []byte
	chunk = appendOutputsRecord(chunk, 0, []backends.Tensor{{Name: "y", DataType: backends.FP32, Shape: []int64{4, 3}, Data: data}}, 4, true)
	chunk = appendErrorRecord(chunk, 4, "bad row")
	rec := &record{Status: Status{ID: "t"}, Outputs: []outSpec{{Name: "y", DataType: backends.FP32, Shape: []int64{3}}}, Batched: true}
	var buf bytes.Buffer
	if err := writeParquet(&buf, rec, &memChunks{chunk: chunk, left: 2}); err != nil {
		t.Fatal(err)
	}
	pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if pf.NumRows() != 10 || pf.NumRowGroups() != 2 {
		t.Fatalf("%d rows in %d row groups, want 10 in 2", pf.NumRows(), pf.NumRowGroups())
	}
	md := pf.RowGroup(0).MetaData()
	for col := range md.NumColumns() {
		cc, err := md.ColumnChunk(col)
		if err != nil {
			t.Fatal(err)
		}
		set, _ := cc.StatsSet()
		if name := cc.PathInSchema().String(); set != (name == "row") {
			t.Errorf("column %s: statistics %v", name, set)
		}
	}
}
