package jobs

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/jobs/jobstest"
)

// flatListFile writes rows of a list<float32> column "x", 10,000 rows per
// row group: row(i) gives row i's values, nil for a null list, and a -0.25
// value is written as a null element.
func flatListFile(t *testing.T, rows int, row func(i int) []float32, props ...parquet.WriterProperty) []byte {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32), Nullable: true}}, nil)
	return jobstest.Write(t, schema, rows, 10000, func(b *array.RecordBuilder, i int) {
		lb := b.Field(0).(*array.ListBuilder)
		v := row(i)
		if v == nil {
			lb.AppendNull()
			return
		}
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.Float32Builder)
		for _, x := range v {
			if x == -0.25 {
				vb.AppendNull()
			} else {
				vb.Append(x)
			}
		}
	}, props...)
}

// flatWriters are the ways a writer may lay out a list<float> column:
// pages V1 and V2, dictionary and PLAIN values, compressed or not, pages
// small enough that rows straddle them. All but the last are read page by
// page (parquet_pages.go); BYTE_STREAM_SPLIT goes through arrow-go's
// column reader (readFlat).
var flatWriters = []struct {
	name  string
	props []parquet.WriterProperty
	pages bool
}{
	{"v1 dictionary", nil, true},
	{"v2 dictionary snappy", []parquet.WriterProperty{parquet.WithDataPageVersion(parquet.DataPageV2), parquet.WithCompression(compress.Codecs.Snappy)}, true},
	{"v1 plain small pages", []parquet.WriterProperty{parquet.WithDictionaryDefault(false), parquet.WithDataPageSize(1000)}, true},
	{"v2 plain zstd small pages", []parquet.WriterProperty{parquet.WithDataPageVersion(parquet.DataPageV2), parquet.WithDictionaryDefault(false),
		parquet.WithCompression(compress.Codecs.Zstd), parquet.WithDataPageSize(999)}, true},
	{"v1 small dictionary pages", []parquet.WriterProperty{parquet.WithDictionaryPageSizeLimit(4096), parquet.WithDataPageSize(1000)}, true},
	{"byte stream split", []parquet.WriterProperty{parquet.WithDictionaryDefault(false), parquet.WithEncoding(parquet.Encodings.ByteStreamSplit)}, false},
}

// TestSplitParquetFlatList: one list<float> column into an FP32 input is
// read page by page (parquet_pages.go), or by arrow-go's column reader
// (parquet_flat.go) where a writer used another encoding. Rows of 3
// values straddle pages, 64k-value reads and row groups, and arrive whole
// and in order; a short, long, null or empty list, or a null value, is
// named by its row. Each way of writing the file gives the same.
func TestSplitParquetFlatList(t *testing.T) {
	l, err := newLayout("m", []rowSpec{{name: "x", dt: backends.FP32, shape: []int64{3}}}, Parquet)
	if err != nil {
		t.Fatal(err)
	}
	split := func(data []byte, got *[]float32) (int64, error) {
		rows, _, err := splitParquet(context.Background(), "m", l, bytes.NewReader(data), nil, 1000, memory.DefaultAllocator, nil,
			func(c chunkRef, data []byte) error {
				if got != nil {
					if int64(len(*got)) != 3*c.firstRow {
						t.Fatalf("chunk from row %d after %d rows", c.firstRow, len(*got)/3)
					}
					*got = append(*got, f32s(data)...)
				}
				return nil
			})
		return rows, err
	}
	const n = 45000 // 135,000 values: three reads of at most 65,536, five row groups
	three := func(i int) []float32 { return []float32{float32(i), float32(i) + 0.5, -float32(i)} }
	bad := func(at int, v []float32) func(int) []float32 {
		return func(i int) []float32 {
			if i == at {
				return v
			}
			return three(i)
		}
	}
	for _, w := range flatWriters {
		t.Run(w.name, func(t *testing.T) {
			data := flatListFile(t, n, three, w.props...)
			if pf, err := file.NewParquetReader(bytes.NewReader(data)); err != nil || pagesReadable(pf, 0, 0) != w.pages {
				t.Fatalf("read page by page: %v, want %v (%v)", !w.pages, w.pages, err)
			}
			var got []float32
			rows, err := split(data, &got)
			if err != nil || rows != n || len(got) != 3*n {
				t.Fatalf("%d rows, %d values, %v; want %d rows", rows, len(got), err, n)
			}
			for i := range n {
				if w := three(i); got[3*i] != w[0] || got[3*i+1] != w[1] || got[3*i+2] != w[2] {
					t.Fatalf("row %d: %v, want %v", i, got[3*i:3*i+3], w)
				}
			}
			for _, c := range []struct {
				name string
				row  func(int) []float32
				want string
			}{
				{"short", bad(21846, []float32{1, 2}), `Parquet column "x" has 2 values at row 21846; the input takes 3 per row`},
				{"long", bad(7, []float32{1, 2, 3, 4}), `Parquet column "x" has more than 3 values at row 7`},
				{"last short", bad(n-1, []float32{1}), `has 1 values at row 44999`},
				{"null list", bad(12345, nil), `Parquet column "x" holds a null, or a null or empty list, at row 12345`},
				{"empty list", bad(0, []float32{}), `at row 0`},
				{"null value", bad(30001, []float32{1, -0.25, 3}), `holds a null, or a null or empty list, at row 30001; ` +
					`the input takes 3 values per row; pandas writes NaN as null in Parquet: fill them (df.fillna)`},
			} {
				if _, err := split(flatListFile(t, n, c.row, w.props...), nil); err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s: want an error containing %q, got %v", c.name, c.want, err)
				}
			}
		})
	}
}
