package jobs

import (
	"fmt"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"

	"github.com/tiffin-ml/tiffin/runtime"
)

// A list column read through arrow-go's record reader (every list but
// list<float>, which parquet_flat.go reads page by page) is gathered a
// batch of rows at a time, and a batch holds each of its rows whole before
// any row's width can be checked. The footer bounds a row group's values
// (checkListValues), not a row's: a file of a few KB can put nearly all of
// a large row group's values in its first row, and the batch holding that
// row then takes memory in proportion to the row group, not to the file
// or the chunk. So where one row could be that wide, the column's levels
// are read first, in small batches, and a row wider than its input is
// refused before the record reader sees it.

// wideRowBytes is how large, in values of 8 bytes, the widest row a row
// group's footer allows may be before its widths are read first: below
// it, a batch holding that row is no threat. Above it, widths are read
// first only where that row would also take more than wideRowFactor times
// the column chunk's bytes in the file: the standard a request is held to
// (a small multiple of its size), and what tells a bomb of zeros from
// data, which compresses far less. Reading widths first costs a second
// decoding of the column (a 200,000-row list<double> split took 30-50%
// longer), which data that fits the bound is spared.
const (
	wideRowBytes  = 16 << 20
	wideRowFactor = 16
)

// widthBatch is how many levels (and values) the width check reads at once.
const widthBatch = 4096

// checkRowWidths reads row group rg's leaf column (md and cc: their
// footer entries), a list of per values a row, and refuses the first row that holds more than per values. It
// reads nothing when the footer says no row can be wide enough to matter
// (wideRowBytes). name names the column in errors.
func checkRowWidths(pf *file.Reader, rg, leaf int, md *metadata.RowGroupMetaData, cc *metadata.ColumnChunkMetaData, per int64, name string) error {
	// Every row holds at least one level: none can be wider than widest.
	if widest := cc.NumValues() - md.NumRows() + 1; widest <= per || widest*8 <= max(wideRowBytes, wideRowFactor*cc.TotalCompressedSize()) {
		return nil
	}
	r, err := pf.RowGroup(rg).Column(leaf)
	if err != nil {
		return runtime.Errorf(runtime.KindInvalidArgument, "read Parquet row group %d: %v", rg, err)
	}
	defer r.Close()
	var row, width int64
	switch r := r.(type) {
	case *file.Float64ColumnChunkReader:
		row, width, err = widestRow(r, per)
	case *file.Float32ColumnChunkReader:
		row, width, err = widestRow(r, per)
	case *file.Int64ColumnChunkReader:
		row, width, err = widestRow(r, per)
	case *file.Int32ColumnChunkReader:
		row, width, err = widestRow(r, per)
	case *file.BooleanColumnChunkReader:
		row, width, err = widestRow(r, per)
	default:
		return nil // not a type a job reads: the record reader's path refuses it
	}
	if err != nil {
		return runtime.Errorf(runtime.KindInvalidArgument, "read Parquet column %q in row group %d: %v", name, rg, err)
	}
	if row >= 0 {
		return runtime.Errorf(runtime.KindInvalidArgument,
			"Parquet column %q has more than %d values at row %d of row group %d (at least %d); the input takes %d per row",
			name, per, row, rg, width, per)
	}
	return nil
}

// levelReader is a typed column chunk reader.
type levelReader[T any] interface {
	HasNext() bool
	ReadBatch(batchSize int64, values []T, defLvls, repLvls []int16) (total int64, valuesRead int, err error)
}

// widestRow reads r's levels to the end, counting each row's (a
// repetition level of 0 starts one), and returns the first row, counted
// in the row group, that holds more than per, with the count it had
// reached; row is -1 when there is none.
func widestRow[T any](r levelReader[T], per int64) (row, width int64, err error) {
	vals := make([]T, widthBatch)
	def, rep := make([]int16, widthBatch), make([]int16, widthBatch)
	row = -1
	for r.HasNext() {
		n, _, err := r.ReadBatch(widthBatch, vals, def, rep)
		if err != nil {
			return -1, 0, err
		}
		if n == 0 {
			return -1, 0, fmt.Errorf("no levels read")
		}
		for _, l := range rep[:n] {
			if l == 0 {
				row, width = row+1, 0
			}
			if width++; width > per {
				return row, width, nil
			}
		}
	}
	return -1, 0, nil
}
