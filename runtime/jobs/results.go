package jobs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/tiffin-ml/tiffin/backends"
)

// A chunk's result object is a run of records, every row of the chunk in
// order, little-endian:
//
//	'O' first:int64 rows:uint32 batched:uint8 outputs:uint16, then per output:
//	    name:uint16+bytes datatype:uint8 rank:uint8 dims:int64×rank size:uint64 data
//	    (the output as the model returned it for rows [first, first+rows); a
//	    BYTES output's data is each element as uint32 length + bytes)
//	'E' row:int64 message:uint32+bytes (one row that failed)
//
// Results stay raw tensors in the store; they become NDJSON or Parquet only
// when read (ResultFormat).
const (
	recOutputs = 'O'
	recError   = 'E'
)

// ResultFormat is how results are rendered when read.
type ResultFormat string

const (
	ResultsNDJSON  ResultFormat = "ndjson"
	ResultsParquet ResultFormat = "parquet"
)

// appendOutputsRecord appends the record of rows [first, first+rows): the
// model's outputs for them, as returned.
func appendOutputsRecord(dst []byte, first int64, outs []backends.Tensor, rows int, batched bool) []byte {
	dst = append(dst, recOutputs)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(first))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(rows))
	dst = append(dst, b2u(batched))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(outs)))
	for k := range outs {
		o := &outs[k]
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(o.Name)))
		dst = append(dst, o.Name...)
		dst = append(dst, byte(o.DataType), byte(len(o.Shape)))
		for _, d := range o.Shape {
			dst = binary.LittleEndian.AppendUint64(dst, uint64(d))
		}
		if o.DataType == backends.Bytes {
			size := 0
			for _, s := range o.Strings {
				size += 4 + len(s)
			}
			dst = binary.LittleEndian.AppendUint64(dst, uint64(size))
			for _, s := range o.Strings {
				dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
				dst = append(dst, s...)
			}
			continue
		}
		dst = binary.LittleEndian.AppendUint64(dst, uint64(len(o.Data)))
		dst = append(dst, o.Data...)
	}
	return dst
}

// appendErrorRecord appends the record of one row that failed.
func appendErrorRecord(dst []byte, row int64, msg string) []byte {
	dst = append(dst, recError)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(row))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(msg)))
	return append(dst, msg...)
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// resultRecord is one decoded record. Its tensors alias the object read.
type resultRecord struct {
	kind    byte
	first   int64 // the first row; the failed row for an error
	rows    int
	batched bool
	outs    []backends.Tensor
	msg     string
}

// recordReader walks the records of one chunk's result object.
type recordReader struct {
	b   []byte
	err error
}

var errCorrupt = errors.New("corrupt result record")

func (r *recordReader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.err = errCorrupt
		return make([]byte, max(n, 8))
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *recordReader) u64() uint64 { return binary.LittleEndian.Uint64(r.take(8)) }
func (r *recordReader) u32() uint32 { return binary.LittleEndian.Uint32(r.take(4)) }
func (r *recordReader) u16() uint16 { return binary.LittleEndian.Uint16(r.take(2)) }
func (r *recordReader) u8() byte    { return r.take(1)[0] }

// next decodes the next record into rec, reusing its tensors; false at the
// end or on error (r.err).
func (r *recordReader) next(rec *resultRecord) bool {
	if len(r.b) == 0 || r.err != nil {
		return false
	}
	rec.kind = r.u8()
	switch rec.kind {
	case recError:
		rec.first, rec.rows = int64(r.u64()), 1
		rec.msg = string(r.take(int(r.u32())))
	case recOutputs:
		rec.first, rec.rows, rec.batched = int64(r.u64()), int(r.u32()), r.u8() == 1
		n := int(r.u16())
		rec.outs = rec.outs[:0]
		for range n {
			t := backends.Tensor{Name: string(r.take(int(r.u16())))}
			t.DataType = backends.DataType(r.u8())
			t.Shape = make([]int64, r.u8())
			for i := range t.Shape {
				t.Shape[i] = int64(r.u64())
			}
			data := r.take(int(r.u64()))
			if t.DataType == backends.Bytes {
				t.Strings = splitStrings(data, &r.err)
			} else {
				t.Data = data
			}
			if r.err == nil && t.Check() != nil {
				r.err = fmt.Errorf("%w: output %q: %v", errCorrupt, t.Name, t.Check())
			}
			rec.outs = append(rec.outs, t)
		}
	default:
		r.err = fmt.Errorf("%w: kind %q", errCorrupt, rec.kind)
	}
	return r.err == nil
}

func splitStrings(b []byte, err *error) [][]byte {
	var out [][]byte
	for len(b) >= 4 {
		n := int(binary.LittleEndian.Uint32(b))
		if 4+n > len(b) {
			break
		}
		out = append(out, b[4:4+n:4+n])
		b = b[4+n:]
	}
	if len(b) != 0 {
		*err = errCorrupt
	}
	return out
}

// chunkResults reads a job's chunk result objects in chunk order, each
// whole: a chunk's results are bounded by its size.
type chunkResults struct {
	store  *store
	ctx    context.Context
	rec    *record
	job    string
	chunks int
	next   int
}

// read returns the next chunk's records, or io.EOF after the last.
func (c *chunkResults) read() (*recordReader, error) {
	if c.next == c.chunks {
		return nil, io.EOF
	}
	b, err := c.store.readResult(c.ctx, c.rec, c.next)
	if err != nil {
		return nil, err
	}
	c.next++
	return &recordReader{b: b}, nil
}

// ndjsonReader renders results as NDJSON, a chunk at a time: one line per
// row, {"row":N,"outputs":{...}} or {"row":N,"error":"..."}.
type ndjsonReader struct {
	rec    *record
	chunks *chunkResults
	buf    []byte
	pos    int
}

func (r *ndjsonReader) Read(p []byte) (int, error) {
	for r.pos == len(r.buf) {
		recs, err := r.chunks.read()
		if err != nil {
			return 0, err
		}
		r.pos = 0
		if r.buf, err = appendNDJSON(r.buf[:0], recs); err != nil {
			return 0, fmt.Errorf("chunk %d of job %s: %w", r.chunks.next-1, r.rec.ID, err)
		}
	}
	n := copy(p, r.buf[r.pos:])
	r.pos += n
	return n, nil
}

func (r *ndjsonReader) Close() error { return nil }

// appendNDJSON renders a chunk's records as result lines.
func appendNDJSON(dst []byte, recs *recordReader) ([]byte, error) {
	var rec resultRecord
	for recs.next(&rec) {
		if rec.kind == recError {
			dst = appendRowError(dst, rec.first, rec.msg)
		} else {
			dst = appendRowResults(dst, rec.first, rec.outs, rec.rows, rec.batched)
		}
	}
	return dst, recs.err
}
