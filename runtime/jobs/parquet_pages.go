package jobs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"unsafe"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/tiffin-ml/tiffin/runtime"
)

// The flat case (one list<float> column into an FP32 input) read page by
// page: arrow-go's page reader finds, decompresses and hands over each
// page, and the levels and values are decoded here. arrow-go's column
// reader decodes every repetition and definition level one at a time; it
// was 40% of an mlp-small job's CPU, more than the model. A list<float>
// column's levels are long runs (every definition level is the same, and
// the repetition levels repeat the row's pattern), which the decoder below
// unpacks a run at a time.
//
// It reads what Arrow's and Spark's writers produce for such a column:
// data pages V1 and V2, levels in the RLE/bit-packed hybrid encoding,
// values PLAIN or dictionary encoded (a dictionary page of PLAIN floats).
// A column chunk that uses any other encoding goes to readFlat.

// pagesReadable reports whether row group rg's column chunk uses only the
// encodings flatPages reads.
func pagesReadable(pf *file.Reader, rg, leaf int) bool {
	cc, err := pf.MetaData().RowGroup(rg).ColumnChunk(leaf)
	if err != nil {
		return false
	}
	for _, e := range cc.Encodings() {
		switch e {
		case parquet.Encodings.Plain, parquet.Encodings.PlainDict, parquet.Encodings.RLE, parquet.Encodings.RLEDict:
		default:
			return false
		}
	}
	return true
}

// flatPages reads column chunks page by page: the state of the one being
// read (its row, its dictionary), and scratch space kept from one page and
// one row group to the next.
type flatPages struct {
	name   string
	per    int   // values per row
	maxDef int32 // every value must be at this definition level
	c      *rawChunker

	rowState     // the row being read, in the file (parquet_levels.go)
	pend         []byte
	dict         []float32
	rep, def     []uint32
	idx          []uint32
	gathered     []float32
	pattern      rowPattern // the repetition levels of well-formed rows (parquet_levels.go)
	haveDictPage bool
}

// read reads row group rg's leaf column into c, as readFlat does.
func (fp *flatPages) read(ctx context.Context, pf *file.Reader, rg, leaf int, name string, c *rawChunker) error {
	pr, err := pf.RowGroup(rg).GetColumnPageReader(leaf)
	if err != nil {
		return runtime.Errorf(runtime.KindInvalidArgument, "read Parquet row group %d: %v", rg, err)
	}
	defer pr.Close()
	col := pf.MetaData().Schema.Column(leaf)
	fp.name, fp.per, fp.maxDef, fp.c = name, c.l.rowBytes[0]/4, int32(col.MaxDefinitionLevel()), c
	fp.row, fp.cnt, fp.started, fp.pend, fp.haveDictPage = c.total, 0, false, fp.pend[:0], false
	for pr.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fp.page(pr.Page()); err != nil {
			return err
		}
	}
	if err := pr.Err(); err != nil {
		return runtime.Errorf(runtime.KindInvalidArgument, "read Parquet row group %d: %v", rg, err)
	}
	if fp.started && fp.cnt != fp.per {
		return rowErr(name, fp.row, false, fp.cnt, fp.per)
	}
	return nil
}

func (fp *flatPages) bad(format string, args ...any) error {
	return runtime.Errorf(runtime.KindInvalidArgument, "Parquet column %q "+format, append([]any{fp.name}, args...)...)
}

// page reads one page. Its buffer is the page reader's, valid until the
// next page.
func (fp *flatPages) page(pg file.Page) error {
	var repB, defB, vals []byte
	n := int(pg.NumValues())
	data := pg.Data()
	switch p := pg.(type) {
	case *file.DictionaryPage:
		if e := parquet.Encoding(p.Encoding()); e != parquet.Encodings.Plain && e != parquet.Encodings.PlainDict {
			return fp.bad("has a dictionary page in encoding %s; only PLAIN is read", e)
		}
		if n < 0 || len(data) < 4*n {
			return fp.bad("has a dictionary page of %d bytes for %d values", len(data), n)
		}
		fp.dict = slices.Grow(fp.dict[:0], n)[:n]
		copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(fp.dict))), 4*n), data)
		fp.haveDictPage = true
		return nil
	case *file.DataPageV1:
		if p.RepetitionLevelEncoding() != parquet.Encodings.RLE || p.DefinitionLevelEncoding() != parquet.Encodings.RLE {
			return fp.bad("has levels in encoding %s/%s; only RLE is read", p.RepetitionLevelEncoding(), p.DefinitionLevelEncoding())
		}
		var ok1, ok2 bool
		repB, data, ok1 = lengthPrefixed(data)
		defB, vals, ok2 = lengthPrefixed(data)
		if !ok1 || !ok2 {
			return fp.bad("has a data page whose levels run past its end")
		}
	case *file.DataPageV2:
		rl, dl := int(p.RepetitionLevelByteLen()), int(p.DefinitionLevelByteLen())
		if rl < 0 || dl < 0 || rl+dl > len(data) {
			return fp.bad("has a data page whose levels run past its end")
		}
		repB, defB, vals = data[:rl], data[rl:rl+dl], data[rl+dl:]
	default:
		return nil // an index page: nothing to read
	}
	if n < 0 {
		return fp.bad("has a data page of %d values", n)
	}
	if !fp.levelsFast(repB, defB, n) {
		if err := fp.levelsSlow(repB, defB, n); err != nil {
			return err
		}
	}
	// Every level is a value (none is null): n values follow.
	switch e := parquet.Encoding(pg.Encoding()); e {
	case parquet.Encodings.Plain:
		if len(vals) < 4*n {
			return fp.bad("has a data page of %d value bytes for %d values", len(vals), n)
		}
		vals = vals[:4*n]
	case parquet.Encodings.RLEDict, parquet.Encodings.PlainDict:
		if !fp.haveDictPage {
			return fp.bad("has dictionary-encoded values but no dictionary page")
		}
		if len(vals) < 1 || vals[0] > 32 {
			return fp.bad("has a data page with a corrupt dictionary index width")
		}
		fp.idx = grow32(fp.idx, n)
		if err := decodeHybrid(vals[1:], int(vals[0]), fp.idx); err != nil {
			return fp.bad("has corrupt dictionary indices: %v", err)
		}
		fp.gathered = slices.Grow(fp.gathered[:0], n)[:n]
		for i, k := range fp.idx {
			if int(k) >= len(fp.dict) {
				return fp.bad("has dictionary index %d past its dictionary of %d values", k, len(fp.dict))
			}
			fp.gathered[i] = fp.dict[k]
		}
		vals = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(fp.gathered))), 4*n)
	default:
		return fp.bad("has values in encoding %s; only PLAIN and dictionary encodings are read", e)
	}
	return fp.take(vals)
}

// levelsSlow decodes a page's n levels and checks them one by one,
// naming what is wrong: the path for pages levelsFast declines.
func (fp *flatPages) levelsSlow(repB, defB []byte, n int) error {
	fp.rep, fp.def = grow32(fp.rep, n), grow32(fp.def, n)
	if err := decodeHybrid(repB, 1, fp.rep); err != nil {
		return fp.bad("has corrupt repetition levels: %v", err)
	}
	if err := decodeHybrid(defB, bits.Len32(uint32(fp.maxDef)), fp.def); err != nil {
		return fp.bad("has corrupt definition levels: %v", err)
	}
	return fp.levels(n)
}

// levels checks a page's n decoded levels as readFlat does: a row starts
// at each repetition level 0 and holds exactly per values, every one
// present.
func (fp *flatPages) levels(n int) error {
	maxDef := uint32(fp.maxDef)
	for i, r := range fp.rep[:n] {
		before := fp.rowState
		if !fp.level(uint64(r), fp.per) {
			switch {
			case r == 0:
				return rowErr(fp.name, before.row, false, before.cnt, fp.per)
			case !before.started:
				return fp.bad("starts its row group inside a row")
			case fp.def[i] != maxDef: // a null is named before a count it also breaks
				return fp.bad("holds a null, or a null or empty list, at row %d; the input takes %d values per row%s", before.row, fp.per, nullHint)
			default:
				return fp.bad("has more than %d values at row %d; the input takes %d per row", fp.per, before.row, fp.per)
			}
		}
		if fp.def[i] != maxDef {
			return fp.bad("holds a null, or a null or empty list, at row %d; the input takes %d values per row%s", fp.row, fp.per, nullHint)
		}
	}
	return nil
}

// take moves a page's values into chunks: whole rows straight from vals,
// a row split across pages through pend.
func (fp *flatPages) take(vals []byte) error {
	rowBytes := 4 * fp.per
	if len(fp.pend) > 0 {
		k := min(rowBytes-len(fp.pend), len(vals))
		fp.pend, vals = append(fp.pend, vals[:k]...), vals[k:]
		if len(fp.pend) < rowBytes {
			return nil
		}
		if err := fp.chunk(fp.pend); err != nil {
			return err
		}
		fp.pend = fp.pend[:0]
	}
	whole := len(vals) / rowBytes * rowBytes
	if err := fp.chunk(vals[:whole]); err != nil {
		return err
	}
	fp.pend = append(fp.pend, vals[whole:]...)
	return nil
}

// chunk appends whole rows to c's chunks.
func (fp *flatPages) chunk(rows []byte) error {
	rowBytes := 4 * fp.per
	for len(rows) > 0 {
		take := min(fp.c.room(), len(rows)/rowBytes)
		fp.c.bufs[0] = append(fp.c.bufs[0], rows[:take*rowBytes]...)
		if err := fp.c.added(take); err != nil {
			return err
		}
		rows = rows[take*rowBytes:]
	}
	return nil
}

// lengthPrefixed splits a V1 page's levels, prefixed by their length in 4
// bytes, from what follows them.
func lengthPrefixed(b []byte) (levels, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n < 0 || n > len(b)-4 {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}

func grow32(s []uint32, n int) []uint32 { return slices.Grow(s[:0], n)[:n] }

var errShortRuns = errors.New("its runs end before its values do")

// decodeHybrid fills dst with values of w bits in Parquet's RLE/bit-packed
// hybrid encoding: runs of one repeated value, and runs of groups of 8
// values packed w bits each, least significant bit first.
func decodeHybrid(b []byte, w int, dst []uint32) error {
	if w < 0 || w > 32 {
		return fmt.Errorf("bit width %d", w)
	}
	byteW := (w + 7) / 8
	mask := uint64(1)<<w - 1
	for i := 0; i < len(dst); {
		h, k := binary.Uvarint(b)
		if k <= 0 {
			return errShortRuns
		}
		b = b[k:]
		if h&1 == 0 { // a repeated value
			if len(b) < byteW {
				return errShortRuns
			}
			var v uint32
			for j := range byteW {
				v |= uint32(b[j]) << (8 * j)
			}
			b = b[byteW:]
			if uint64(v) > mask {
				return fmt.Errorf("a value of %d is wider than %d bits", v, w)
			}
			run := int(min(h>>1, uint64(len(dst)-i)))
			fill := dst[i : i+run]
			for j := range fill {
				fill[j] = v
			}
			i += run
			continue
		}
		groups := h >> 1
		if groups > uint64(len(b)) { // w >= 1 bytes per group of 8 (w == 0: none)
			if w > 0 {
				return errShortRuns
			}
		}
		nbytes := int(groups) * w
		if nbytes > len(b) {
			return errShortRuns
		}
		count := int(min(groups*8, uint64(len(dst)-i)))
		unpack(b[:nbytes], w, mask, dst[i:i+count])
		b = b[nbytes:]
		i += count
	}
	return nil
}

// unpack reads len(dst) values of w bits from packed, which holds them
// all.
func unpack(packed []byte, w int, mask uint64, dst []uint32) {
	if w == 0 {
		clear(dst)
		return
	}
	if w == 1 { // repetition levels: a byte at a time
		for j := 0; j < len(dst); j += 8 {
			by := packed[j/8]
			for k, d := 0, dst[j:min(j+8, len(dst))]; k < len(d); k++ {
				d[k] = uint32(by>>k) & 1
			}
		}
		return
	}
	for j := range dst {
		bit := j * w
		at := bit / 8
		var word uint64
		if at+8 <= len(packed) {
			word = binary.LittleEndian.Uint64(packed[at:])
		} else {
			var tail [8]byte
			copy(tail[:], packed[at:])
			word = binary.LittleEndian.Uint64(tail[:])
		}
		dst[j] = uint32(word >> (bit % 8) & mask)
	}
}
