package jobs

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
)

// The common Parquet case, one list column of FLOAT values feeding one FP32
// input, is read with the file's own column reader instead of arrow-go's
// record reader: the values go from the page decoder into the chunk with
// one copy, and the repetition and definition levels are checked in one
// pass, where pqarrow would build list offsets and an array per batch (a
// fifth of an mlp-large job's CPU). Anything else takes the general path.
// A column chunk in the encodings Arrow's writers use is read page by page
// instead (parquet_pages.go); readFlat reads the others (BYTE_STREAM_SPLIT,
// the delta encodings, ...).

// flatLevels is how many values the fast path reads per call.
const flatLevels = 64 << 10

// flatColumn returns the leaf column the fast path reads, if it applies:
// a single input, FP32, fed by one list column whose leaf holds FLOAT
// values and repeats once (a list, not a list of lists).
func flatColumn(pf *file.Reader, l *layout, plan []source, leaves []int) (int, bool) {
	if len(plan) != 1 || !plan[0].list || len(leaves) != 1 || l.specs[0].dt != backends.FP32 {
		return 0, false
	}
	col := pf.MetaData().Schema.Column(leaves[0])
	if col.PhysicalType() != parquet.Types.Float || col.MaxRepetitionLevel() != 1 {
		return 0, false
	}
	return leaves[0], true
}

// readFlat reads row group rg's leaf column into c: each row's values must
// all be present, exactly per of them.
func readFlat(ctx context.Context, pf *file.Reader, rg, leaf int, name string, c *rawChunker) error {
	bad := func(format string, args ...any) error {
		return runtime.Errorf(runtime.KindInvalidArgument, "Parquet column %q "+format, append([]any{name}, args...)...)
	}
	cc, err := pf.RowGroup(rg).Column(leaf)
	if err != nil {
		return runtime.Errorf(runtime.KindInvalidArgument, "read Parquet row group %d: %v", rg, err)
	}
	defer cc.Close() // its page buffers go back to the allocator
	cr, ok := cc.(*file.Float32ColumnChunkReader)
	if !ok {
		return fmt.Errorf("internal: column %q has a %T reader", name, cc)
	}
	maxDef := pf.MetaData().Schema.Column(leaf).MaxDefinitionLevel()
	per := c.l.rowBytes[0] / 4
	vals := make([]float32, flatLevels)
	def, rep := make([]int16, flatLevels), make([]int16, flatLevels)
	var pend []float32       // values read, not yet in a chunk: whole rows, then the row being read
	cnt, started := 0, false // values in the row being read; whether one is
	row := c.total           // the number of the row being read, in the file
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, _, err := cr.ReadBatch(flatLevels, vals, def, rep)
		if err != nil {
			return runtime.Errorf(runtime.KindInvalidArgument, "read Parquet row group %d: %v", rg, err)
		}
		if n == 0 {
			break
		}
		for i := range int(n) {
			if rep[i] == 0 {
				if started && cnt != per {
					return rowErr(name, row, false, cnt, per)
				}
				if started {
					row++
				}
				started, cnt = true, 0
			}
			if def[i] != maxDef {
				return bad("holds a null, or a null or empty list, at row %d; the input takes %d values per row%s", row, per, nullHint)
			}
			if cnt++; cnt > per {
				return bad("has more than %d values at row %d; the input takes %d per row", per, row, per)
			}
		}
		// Every level is a value (none is null). Whole rows go from vals
		// into the chunk; only a row split across reads waits in pend.
		src := vals[:n]
		if len(pend) > 0 {
			k := min(per-len(pend), len(src))
			pend, src = append(pend, src[:k]...), src[k:]
			if len(pend) == per {
				if pend, err = chunkRows(pend, per, c); err != nil {
					return err
				}
			}
		}
		whole := len(src) / per * per
		if _, err = chunkRows(src[:whole], per, c); err != nil {
			return err
		}
		pend = append(pend, src[whole:]...)
	}
	if started && cnt != per {
		return rowErr(name, row, false, cnt, per)
	}
	_, err = chunkRows(pend, per, c)
	return err
}

// chunkRows moves the whole rows at the front of pend into c's chunks and
// returns what is left (part of a row, or nothing).
func chunkRows(pend []float32, per int, c *rawChunker) ([]float32, error) {
	rows := len(pend) / per
	for done := 0; done < rows; {
		take := min(c.room(), rows-done)
		part := pend[done*per : (done+take)*per]
		c.bufs[0] = append(c.bufs[0], unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(part))), 4*len(part))...)
		if err := c.added(take); err != nil {
			return nil, err
		}
		done += take
	}
	return append(pend[:0], pend[rows*per:]...), nil
}
