// Package jobstest builds job inputs for tests: Parquet files written with
// Apache Arrow's own writer, as a user's tools would write them.
package jobstest

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Parquet writes rows rows as a Parquet file: an "id" column (INT64, the
// row number, which jobs ignore) and a column "input" of fixed-size lists
// of row(i)'s width, groupRows rows per row group.
func Parquet(t testing.TB, rows, groupRows int, row func(i int) []float32) []byte {
	t.Helper()
	width := int32(len(row(0)))
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "input", Type: arrow.FixedSizeListOf(width, arrow.PrimitiveTypes.Float32)}}, nil)
	return Write(t, sc, rows, groupRows, func(b *array.RecordBuilder, i int) {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		lb := b.Field(1).(*array.FixedSizeListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Float32Builder).AppendValues(row(i), nil)
	})
}

// Write writes rows rows of schema sc as a Parquet file, fill appending
// row i to the builder's fields, groupRows rows per row group; props
// choose the writer's pages, encodings and compression.
func Write(t testing.TB, sc *arrow.Schema, rows, groupRows int, fill func(b *array.RecordBuilder, i int),
	props ...parquet.WriterProperty) []byte {
	t.Helper()
	var buf bytes.Buffer
	props = append([]parquet.WriterProperty{parquet.WithMaxRowGroupLength(int64(groupRows))}, props...)
	w, err := pqarrow.NewFileWriter(sc, &buf, parquet.NewWriterProperties(props...), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i := range rows {
		fill(b, i)
		if (i+1)%groupRows == 0 || i == rows-1 {
			rec := b.NewRecordBatch()
			err := w.Write(rec)
			rec.Release()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
