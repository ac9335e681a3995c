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

	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/jobs/jobstest"
)

// listRows is a zstd Parquet file of n list<double> rows in one row group,
// row i holding width(i) values.
func listRows(t *testing.T, n int, width func(i int) int) []byte {
	sc := arrow.NewSchema([]arrow.Field{{Name: "input", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64)}}, nil)
	return jobstest.Write(t, sc, n, n, func(b *array.RecordBuilder, i int) {
		lb := b.Field(0).(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.Float64Builder)
		for range width(i) {
			vb.Append(0)
		}
	}, parquet.WithCompression(compress.Codecs.Zstd))
}

// The footer bounds a row group's values by its rows times the input's
// width, not a row's: a row group whose values nearly all sit in its
// first row (the others one value each) passes that check, and arrow-go's
// record reader gathered the whole row into the first batch (a 2 KB file,
// 48 MB held; a row group ten times larger, ten times more). The row's
// width is now read from the levels first (a second reviewer's test).
func TestSplitParquetOneWideRowRefusedUnread(t *testing.T) {
	l := mlpLayout(t, Parquet) // 16 values a row
	const n = 200_000
	data := listRows(t, n, func(i int) int { // 3M values in row 0: 16n in the row group at most
		return map[bool]int{true: 15 * n, false: 1}[i == 0]
	})
	mem := &peakAllocator{Allocator: memory.DefaultAllocator}
	_, _, err := splitParquet(context.Background(), "mlp-small", l, bytes.NewReader(data), nil, 4096, mem, nil,
		func(chunkRef, []byte) error { return nil })
	if runtime.KindOf(err) != runtime.KindInvalidArgument || !strings.Contains(err.Error(), "more than 16 values at row 0") {
		t.Errorf("%v; want a 400 naming row 0", err)
	}
	if mem.peak.Load() > 8<<20 {
		t.Errorf("arrow held %d MB to refuse a %d KB file", mem.peak.Load()>>20, len(data)>>10)
	}
}

// A row group large enough for its widths to be read first, whose rows
// are all as wide as the input, is read whole.
func TestSplitParquetWidthsReadFirstThenRows(t *testing.T) {
	l := mlpLayout(t, Parquet)
	const n = 200_000 // 3.2M values: one row could hold 3M, past wideRowBytes
	data := listRows(t, n, func(int) int { return 16 })
	rows, _, err := splitParquet(context.Background(), "mlp-small", l, bytes.NewReader(data), nil, 4096, memory.DefaultAllocator, nil,
		func(chunkRef, []byte) error { return nil })
	if err != nil || rows != n {
		t.Fatalf("%d rows, %v; want %d", rows, err, n)
	}
	// Row 5 one value wide, row 6 one short: as many values as the footer
	// allows, and row 5 is refused before the record reader reads it.
	bad := listRows(t, n, func(i int) int { return 16 + map[int]int{5: 1, 6: -1}[i] })
	if _, _, err := splitParquet(context.Background(), "mlp-small", l, bytes.NewReader(bad), nil, 4096, memory.DefaultAllocator, nil,
		func(chunkRef, []byte) error { return nil }); !strings.Contains(err.Error(), "more than 16 values at row 5 of row group 0 (at least 17)") {
		t.Fatalf("a 17-value row among 16-value ones: %v; want a 400 naming row 5", err)
	}
}
