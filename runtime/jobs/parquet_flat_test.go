package jobs

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/jobs/jobstest"
)

// flatListFile writes rows of a list<float32> column "x", 10,000 rows per
// row group: row(i) gives row i's values, nil for a null list, and a -0.25
// value is written as a null element.
func flatListFile(t *testing.T, rows int, row func(i int) []float32) []byte {
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
	})
}

// TestSplitParquetFlatList: one list<float> column into an FP32 input goes
// through the column reader (parquet_flat.go). Rows of 3 values straddle its
// 64k-value reads and the row groups, and arrive whole and in order; a
// short, long, null or empty list, or a null value, is named by its row.
func TestSplitParquetFlatList(t *testing.T) {
	l, err := newLayout("m", []rowSpec{{name: "x", dt: backends.FP32, shape: []int64{3}}}, Parquet)
	if err != nil {
		t.Fatal(err)
	}
	split := func(data []byte, got *[]float32) (int64, error) {
		rows, _, err := splitParquet(context.Background(), "m", l, bytes.NewReader(data), nil, 1000, memory.DefaultAllocator,
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
	var got []float32
	rows, err := split(flatListFile(t, n, three), &got)
	if err != nil || rows != n || len(got) != 3*n {
		t.Fatalf("%d rows, %d values, %v; want %d rows", rows, len(got), err, n)
	}
	for i := range n {
		if w := three(i); got[3*i] != w[0] || got[3*i+1] != w[1] || got[3*i+2] != w[2] {
			t.Fatalf("row %d: %v, want %v", i, got[3*i:3*i+3], w)
		}
	}
	bad := func(at int, v []float32) func(int) []float32 {
		return func(i int) []float32 {
			if i == at {
				return v
			}
			return three(i)
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
		{"null value", bad(30001, []float32{1, -0.25, 3}), `holds a null, or a null or empty list, at row 30001`},
	} {
		if _, err := split(flatListFile(t, n, c.row), nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want an error containing %q, got %v", c.name, c.want, err)
		}
	}
}
