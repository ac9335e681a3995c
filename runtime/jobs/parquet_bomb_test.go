package jobs

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
)

// zerosParquet writes cols FLOAT32 feature columns of rows zeros each, one
// row group, each column chunk one zstd page: a few kilobytes on the wire
// that decompress to rows×4 bytes a column.
func zerosParquet(t *testing.T, cols, rows int) []byte {
	t.Helper()
	fields := make([]arrow.Field, cols)
	for k := range fields {
		fields[k] = arrow.Field{Name: fmt.Sprintf("f%d", k), Type: arrow.PrimitiveTypes.Float32}
	}
	sc := arrow.NewSchema(fields, nil)
	b := array.NewFloat32Builder(memory.DefaultAllocator)
	b.AppendValues(make([]float32, rows), nil)
	zeros := b.NewArray()
	defer zeros.Release()
	arrs := make([]arrow.Array, cols)
	for k := range arrs {
		arrs[k] = zeros
	}
	rec := array.NewRecordBatch(sc, arrs, int64(rows))
	defer rec.Release()
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithDictionaryDefault(false),
		parquet.WithStats(false), parquet.WithDataPageSize(1<<30), parquet.WithBatchSize(int64(rows)),
		parquet.WithMaxRowGroupLength(int64(rows)))
	w, err := pqarrow.NewFileWriter(sc, &buf, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestParquetPagesBudget: a split reads every needed column's current page
// at once, so the pages of n columns may declare pagesBudget/n bytes each
// (at least 1 MiB). A hostile reviewer's 75 KB file of 256 feature
// columns, each a 4 MiB page of zeros, took the server to 2.3 GB; here 64
// columns of 5 MiB pages (a few hundred kilobytes of zstd) are refused
// with the limit named, and the same columns in 2 MiB pages are read.
func TestParquetPagesBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("compresses 0.3 GB of zeros")
	}
	if got := []int64{pageLimit(1), pageLimit(16), pageLimit(64), pageLimit(256), pageLimit(5000)}; fmt.Sprint(got) !=
		fmt.Sprint([]int64{64 << 20, 16 << 20, 4 << 20, 1 << 20, 1 << 20}) {
		t.Fatalf("page limits for 1, 16, 64, 256, 5000 columns: %v", got)
	}
	const cols = 64
	l, err := newLayout("wide", []rowSpec{{name: "x", dt: backends.FP32, shape: []int64{cols}}}, Parquet)
	if err != nil {
		t.Fatal(err)
	}
	split := func(data []byte) (int64, error) {
		n, _, err := splitParquet(context.Background(), "wide", l, bytes.NewReader(data), nil, 4096, memory.DefaultAllocator, nil,
			func(chunkRef, []byte) error { return nil })
		return n, err
	}
	bomb := zerosParquet(t, cols, 5<<18) // 5 MiB a column
	if len(bomb) > 1<<20 {
		t.Fatalf("the bomb is %d bytes; the test wants a small file", len(bomb))
	}
	_, err = split(bomb)
	if runtime.KindOf(err) != runtime.KindInvalidArgument || !strings.Contains(err.Error(), "with 64 columns read together, a page may hold at most 4194304 bytes") {
		t.Fatalf("%d-byte file of 64 columns of 5 MiB pages: %v; want it refused naming the page limit", len(bomb), err)
	}
	if n, err := split(zerosParquet(t, cols, 2<<18)); err != nil || n != 2<<18 {
		t.Fatalf("64 columns of 2 MiB pages: %d rows, %v; want all read", n, err)
	}
}
