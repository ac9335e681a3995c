package jobs

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/npy"
	"github.com/tiffin-ml/tiffin/runtime/tensorjson"
)

// parquetMagic starts (and ends) every Parquet file.
const parquetMagic = "PAR1"

// sniff names the format of an upload from its first bytes: Parquet or
// NPY by their magic, NDJSON when the first thing in it is a JSON object,
// else CSV. It leaves br where it was.
func sniff(br *bufio.Reader) Format {
	head, _ := br.Peek(512)
	switch {
	case bytes.HasPrefix(head, []byte(parquetMagic)):
		return Parquet
	case bytes.HasPrefix(head, []byte(npy.Magic)):
		return NPY
	case bytes.HasPrefix(bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n"), []byte("{")):
		return NDJSON
	}
	return CSV
}

// checkContent refuses an upload whose first bytes say it is not in the
// format it is read as (f, given or sniffed): a Parquet or .npy file sent
// as CSV or NDJSON, a compressed file or an archive (which sniffs as CSV),
// or a JSON array (sniffed as CSV) or anything but an object sent as
// NDJSON. Read as text, such a file was split at
// its newline bytes into hundreds of rows that each failed, and the job
// with them, with errors about bare quotes and invalid values that never
// named the problem. It leaves br where it was.
func checkContent(br *bufio.Reader, f Format, given bool) error {
	head, _ := br.Peek(512)
	bad := func(format string, args ...any) error {
		return runtime.Errorf(runtime.KindInvalidArgument, format, args...)
	}
	if got := sniff(br); got.raw() && got != f {
		how := "it was sniffed as " + string(f)
		if given {
			how = "format=" + string(f) + " was given"
		}
		return bad("the upload is a %s file (it starts with %q), but %s; send it with format=%s or without format=", got, head[:4], how, got)
	}
	for _, c := range []struct{ magic, what string }{
		{"\x1f\x8b", "gzip-compressed; send it with Content-Encoding: gzip (tiffin jobs submit does for a .gz file), or uncompressed"},
		{"\x28\xb5\x2f\xfd", "zstd-compressed; send it uncompressed, or as gzip with Content-Encoding: gzip"},
		{"\xfd7zXZ\x00", "xz-compressed; send it uncompressed, or as gzip with Content-Encoding: gzip"},
		{"BZh", "bzip2-compressed; send it uncompressed, or as gzip with Content-Encoding: gzip"},
		{"PK\x03\x04", "a zip archive (an .npz, .xlsx, ...); send one .npy array, Parquet, CSV or NDJSON"},
		{"ARROW1", "an Arrow IPC (Feather) file; write it as Parquet (pyarrow.parquet.write_table)"},
	} {
		if bytes.HasPrefix(head, []byte(c.magic)) && (c.magic != "BZh" || len(head) >= 10 && string(head[4:10]) == "1AY&SY") {
			return bad("the upload is %s", c.what)
		}
	}
	if jsonArray(head) && (f == NDJSON || f == CSV && !given) { // a JSON array sniffs as CSV
		return bad("the upload is a JSON array; NDJSON is one JSON object per line (pandas: to_json(orient=\"records\", lines=True))")
	}
	if first := bytes.TrimLeft(bytes.TrimPrefix(head, utf8BOM), " \t\r\n"); f == NDJSON && len(first) > 0 && first[0] != '{' {
		line, _, _ := bytes.Cut(first, []byte("\n"))
		return bad("format=ndjson was given, but the upload does not start with a JSON object (%s); NDJSON is one JSON object per line, and CSV is sent with format=csv",
			tensorjson.Clip(line))
	}
	return nil
}

// jsonArray reports whether head starts a JSON array, past a BOM and
// white space.
func jsonArray(head []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(bytes.TrimPrefix(head, utf8BOM), " \t\r\n"), []byte("["))
}

// layout is where each input's rows sit in a raw chunk: input k's rows
// back to back, rowBytes[k] each, after those of inputs 0..k-1. Raw
// chunks need every input's row shape fixed and numeric.
type layout struct {
	specs    []rowSpec
	rowBytes []int
	total    int // bytes of one row of every input
}

func newLayout(model string, specs []rowSpec, f Format) (*layout, error) {
	l := &layout{specs: specs, rowBytes: make([]int, len(specs))}
	for k, s := range specs {
		if s.dt == backends.Bytes || s.dt.Size() == 0 {
			return nil, runtime.Errorf(runtime.KindInvalidArgument,
				"model %s: input %q is %s; %s jobs carry numeric inputs only (send NDJSON)", model, s.name, s.dt, f)
		}
		for _, d := range s.shape {
			if d < 0 {
				return nil, runtime.Errorf(runtime.KindInvalidArgument,
					"model %s: input %q has a variable dimension (row shape %v); %s jobs need a fixed row shape (send NDJSON)", model, s.name, s.shape, f)
			}
		}
		l.rowBytes[k] = int(backends.NumElements(s.shape)) * s.dt.Size()
		l.total += l.rowBytes[k]
	}
	if l.total == 0 {
		return nil, runtime.Errorf(runtime.KindInvalidArgument, "model %s: its rows are empty", model)
	}
	return l, nil
}

// chunkRows is how many rows fill a chunk of at most maxBytes.
func (l *layout) chunkRows(maxBytes int) int { return max(1, maxBytes/l.total) }

// offset is where input k's rows start in a raw chunk of n rows.
func (l *layout) offset(k, n int) int {
	off := 0
	for _, b := range l.rowBytes[:k] {
		off += b * n
	}
	return off
}

// rawChunker gathers rows into raw chunks of rows rows each and emits each
// one when full, numbering rows and chunks as the splitter does.
type rawChunker struct {
	l      *layout
	rows   int      // rows per chunk
	bufs   [][]byte // by input: the rows gathered so far
	n      int      // rows gathered
	msg    []byte   // several inputs' rows joined, as sent; reused
	total  int64    // rows emitted or gathered
	chunks int
	emit   func(c chunkRef, data []byte) error
}

// The input declares how many rows it holds (declared, from its header or
// footer): each buffer is made that big, or a chunk's worth when that is
// less, at once and aligned, so that appending never moves it and a chunk
// of one input goes to its file as it is (directWriter writes an aligned
// buffer without copying it). An input smaller than it declares costs no
// more than a chunk.
func newRawChunker(l *layout, rows int, declared int64, emit func(chunkRef, []byte) error) *rawChunker {
	c := &rawChunker{l: l, rows: rows, bufs: make([][]byte, len(l.specs)), emit: emit}
	first := int(min(int64(rows), max(declared, 1)))
	for k := range c.bufs {
		c.bufs[k] = alignedBuf(first * l.rowBytes[k])[:0]
	}
	return c
}

// room is how many more rows the current chunk takes.
func (c *rawChunker) room() int { return c.rows - c.n }

// added counts n rows the caller appended to every input's buffer, and
// emits the chunk once full.
func (c *rawChunker) added(n int) error {
	c.n += n
	c.total += int64(n)
	for k, b := range c.bufs {
		if len(b) != c.n*c.l.rowBytes[k] {
			return fmt.Errorf("internal: input %q holds %d bytes for %d rows", c.l.specs[k].name, len(b), c.n)
		}
	}
	if c.n == c.rows {
		return c.flush()
	}
	return nil
}

// flush emits the rows gathered, if any.
func (c *rawChunker) flush() error {
	if c.n == 0 {
		return nil
	}
	msg := c.bufs[0] // one input: the chunk is its rows
	if len(c.bufs) > 1 {
		if c.msg == nil {
			c.msg = alignedBuf(c.n * c.l.total)
		}
		msg = c.msg[:0]
		for _, b := range c.bufs {
			msg = append(msg, b...)
		}
		c.msg = msg
	}
	for k := range c.bufs {
		c.bufs[k] = c.bufs[k][:0]
	}
	ref := chunkRef{index: c.chunks, firstRow: c.total - int64(c.n), rows: c.n}
	c.chunks++
	c.n = 0
	return c.emit(ref, msg) // emit keeps no reference to msg
}

// npyRows is the rows an .npy upload's header declares, read from what br
// holds without taking it; 0 when it is not a readable header.
func npyRows(br *bufio.Reader) int64 {
	head, _ := br.Peek(br.Size()) // less at the input's end: the header may be all of it
	h, err := npy.ReadHeader(bytes.NewReader(head))
	if err != nil || len(h.Shape) == 0 {
		return 0
	}
	return h.Shape[0]
}

// splitNPY cuts a .npy upload into raw chunks as it reads it: the array
// [N, ...] feeds the model's single input, N rows.
func splitNPY(model string, l *layout, r io.Reader, rows int, emit func(chunkRef, []byte) error) (int64, int, error) {
	if len(l.specs) != 1 {
		return 0, 0, runtime.Errorf(runtime.KindInvalidArgument,
			"model %s has %d inputs; a .npy file feeds a model with exactly one (send Parquet or NDJSON)", model, len(l.specs))
	}
	h, err := npy.ReadHeader(r)
	if err != nil {
		return 0, 0, runtime.Errorf(runtime.KindInvalidArgument, "%v", err)
	}
	s := l.specs[0]
	switch {
	case h.DataType != s.dt:
		return 0, 0, runtime.Errorf(runtime.KindInvalidArgument,
			"the .npy array is %s; input %q of model %s takes %s (convert it with astype)", h.DataType, s.name, model, s.dt)
	case len(h.Shape) == 0:
		return 0, 0, runtime.Errorf(runtime.KindInvalidArgument, "the .npy array is a scalar; want shape [N, ...], one row per item")
	}
	if _, err := shapeFor(h.Shape[1:], backends.NumElements(h.Shape[1:]), s.shape); err != nil && !(len(h.Shape) == 1 && backends.NumElements(s.shape) == 1) {
		return 0, 0, runtime.Errorf(runtime.KindInvalidArgument, "the .npy array's shape %v: %v", h.Shape, err)
	}
	c := newRawChunker(l, rows, h.Shape[0], emit)
	left := h.Shape[0]
	for left > 0 {
		n := int(min(int64(c.room()), left))
		b := c.bufs[0]
		start := len(b)
		b = slices.Grow(b, n*l.rowBytes[0])[:start+n*l.rowBytes[0]]
		if got, err := io.ReadFull(r, b[start:]); err != nil {
			return c.total, c.chunks, npyReadErr(err, c.total+int64(got/l.rowBytes[0]), h.Shape[0])
		}
		c.bufs[0] = b
		if err := c.added(n); err != nil {
			return c.total, c.chunks, err
		}
		left -= int64(n)
	}
	// Bytes past the rows the header declares are rows (or junk) that
	// would be dropped in silence: a job that reports success must have
	// scored all of its input.
	var one [1]byte
	switch _, err := io.ReadFull(r, one[:]); {
	case err == nil:
		return c.total, c.chunks, runtime.Errorf(runtime.KindInvalidArgument,
			"the .npy data goes on past the %d rows of shape %v its header declares; fix the header's shape or the data", h.Shape[0], h.Shape)
	case err != io.EOF:
		return c.total, c.chunks, npyReadErr(err, c.total, h.Shape[0])
	}
	return c.total, c.chunks, c.flush()
}

func npyReadErr(err error, row, rows int64) error {
	if runtime.KindOf(err) == runtime.KindTooLarge {
		return err
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return runtime.Errorf(runtime.KindInvalidArgument, "the .npy data ends within row %d of the %d its header promises", row, rows)
	}
	return runtime.Errorf(runtime.KindInvalidArgument, "read the .npy data at row %d: %v", row, err)
}
