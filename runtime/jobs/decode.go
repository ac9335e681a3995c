package jobs

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/tensorjson"
)

// rowSpec is one input as a row carries it: the model's spec without the
// batch axis (the whole spec for a model that does not batch).
type rowSpec struct {
	name  string
	dt    backends.DataType
	shape []int64 // -1: any length
}

func rowSpecs(sig *runtime.Signature) []rowSpec {
	out := make([]rowSpec, len(sig.Inputs))
	for i, in := range sig.Inputs {
		out[i] = rowSpec{name: in.Name, dt: in.DataType, shape: rowShape(sig, in.Shape)}
	}
	return out
}

// rowShape is a tensor's shape without the batch axis, when it has one.
func rowShape(sig *runtime.Signature, shape []int64) []int64 {
	if sig.MaxBatchSize > 0 && len(shape) > 0 {
		return shape[1:]
	}
	return shape
}

// checkSignature refuses, at submission, models whose rows jobs cannot
// carry.
func checkSignature(model string, sig *runtime.Signature, f Format) error {
	for _, specs := range [][]backends.TensorSpec{sig.Inputs, sig.Outputs} {
		for _, s := range specs {
			if s.DataType == backends.FP16 || s.DataType == backends.BF16 {
				return runtime.Errorf(runtime.KindInvalidArgument,
					"model %s: tensor %q is %s, which jobs do not carry; use the infer endpoint", model, s.Name, s.DataType)
			}
		}
	}
	if f == CSV && len(sig.Inputs) != 1 {
		return runtime.Errorf(runtime.KindInvalidArgument,
			"model %s has %d inputs; CSV rows feed a model with exactly one, so send NDJSON", model, len(sig.Inputs))
	}
	return nil
}

// rowDecoder decodes a chunk's rows, each straight into the buffers of
// the batch it joins. Its scratch space is reused from row to row.
type rowDecoder struct {
	specs  []rowSpec
	format Format
	p      valueParser
	seen   []bool
	shapes [][]int64 // by input: the shapes of the row decoded last
}

func newRowDecoder(specs []rowSpec, f Format) *rowDecoder {
	return &rowDecoder{specs: specs, format: f, seen: make([]bool, len(specs)), shapes: make([][]int64, len(specs))}
}

// decode appends a row's elements to b's buffers and sets d.shapes to its
// shapes; it does not count the row in b. On error the buffers may hold
// part of the row: the caller truncates them.
func (d *rowDecoder) decode(line []byte, b *batch) error {
	if d.format == CSV {
		return d.csv(line, b)
	}
	return d.ndjson(line, b)
}

// ndjson reads one line: a JSON object holding each input's row; its
// other fields (an id) are passed over. It scans
// the object itself, each value straight into the batch's tensor bytes,
// plain decimals in one pass (number.go); parsing is the largest part of
// a job's own CPU time.
func (d *rowDecoder) ndjson(line []byte, b *batch) error {
	clear(d.seen)
	d.p.raw, d.p.pos = line, 0
	err := d.p.object(func(key []byte) error {
		i := slices.IndexFunc(d.specs, func(s rowSpec) bool { return s.name == string(key) })
		if i < 0 { // not an input: passed over, as a Parquet file's other columns are
			if err := d.p.skip(); err != nil {
				return fmt.Errorf("field %q: %v", key, err)
			}
			return nil
		}
		if d.seen[i] {
			return fmt.Errorf("input %q given twice", key)
		}
		err := d.p.read(d.specs[i].dt, b.data[i], b.strs[i])
		b.data[i], b.strs[i] = d.p.data, d.p.strs
		if err == nil {
			err = d.fit(i, d.p.shape(), d.p.count)
		}
		if err != nil {
			return fmt.Errorf("input %q: %v", key, err)
		}
		d.seen[i] = true
		return nil
	})
	if err != nil {
		return err
	}
	for i, ok := range d.seen {
		if !ok {
			return fmt.Errorf("missing input %q", d.specs[i].name)
		}
	}
	return nil
}

// fit checks input i's shape as read and keeps it in d.shapes.
func (d *rowDecoder) fit(i int, got []int64, count int64) error {
	shape, err := shapeFor(got, count, d.specs[i].shape)
	d.shapes[i] = append(d.shapes[i][:0], shape...)
	return err
}

// csv reads one line of comma-separated features of the single input.
func (d *rowDecoder) csv(line []byte, b *batch) error {
	s := &d.specs[0]
	n, err := eachCSVField(line, func(i int, f []byte) error {
		if s.dt == backends.Bytes {
			b.strs[0] = append(b.strs[0], f)
			return nil
		}
		if len(f) == 0 {
			return fmt.Errorf("column %d is empty%s", i+1, emptyHint(s.dt))
		}
		data, err := tensorjson.AppendElement(b.data[0], s.dt, f)
		if err != nil {
			return fmt.Errorf("column %d: %v", i+1, err)
		}
		b.data[0] = data
		return nil
	})
	if err != nil {
		return err
	}
	if err := d.fit(0, []int64{int64(n)}, int64(n)); err != nil {
		return fmt.Errorf("%d columns do not fit input %q: %v%s", n, s.name, err, indexHint(line, n, s))
	}
	return nil
}

// indexHint follows the error of a row one column wider than its input
// whose first field is an integer: most likely pandas's index, which
// df.to_csv() writes as the first column unless told index=False.
func indexHint(line []byte, n int, s *rowSpec) string {
	first, _, _ := bytes.Cut(line, []byte{','})
	if want := backends.NumElements(s.shape); want <= 0 || int64(n) != want+1 || s.dt == backends.Bytes {
		return ""
	}
	if _, err := strconv.ParseInt(string(bytes.TrimSpace(first)), 10, 64); err != nil {
		return ""
	}
	return "; the first column looks like a pandas DataFrame's index, which df.to_csv() writes: write the file with index=False"
}

// emptyHint follows the error of an empty CSV field of a floating-point
// input: most likely a missing value, which pandas's df.to_csv() writes
// as an empty field.
func emptyHint(dt backends.DataType) string {
	switch dt {
	case backends.FP16, backends.BF16, backends.FP32, backends.FP64:
		return `: pandas's df.to_csv() writes a missing value (NaN) as an empty field; fill the missing values, or write the file with na_rep="nan" to send NaN`
	}
	return ""
}

// decodeValue reads one input's row, nested arrays or a scalar, and fits
// it to the row shape. A flat array fills a fixed shape of the same size.
func decodeValue(raw []byte, s rowSpec) (backends.Tensor, error) {
	p := valueParser{raw: raw}
	t, err := p.tensor(s)
	if err != nil {
		return t, err
	}
	if p.skipSpace(); p.pos != len(raw) {
		return backends.Tensor{}, fmt.Errorf("unexpected %s after the value", tensorjson.Clip(raw[p.pos:]))
	}
	return t, nil
}

// fitShape checks a row's shape against the spec's, and returns a copy.
func fitShape(got []int64, count int64, want []int64) ([]int64, error) {
	shape, err := shapeFor(got, count, want)
	return slices.Clone(shape), err
}

// shapeFor is the shape of a row read as got with count elements: got
// itself when it fits the spec's, or the spec's when got is flat and
// holds as many elements.
func shapeFor(got []int64, count int64, want []int64) ([]int64, error) {
	if backends.ShapeFits(got, want) {
		return got, nil
	}
	if len(got) == 1 && backends.NumElements(want) == count {
		return want, nil
	}
	return nil, fmt.Errorf("row has shape %v, the model takes %v per row", got, want)
}

// eachCSVField calls fn with each field of a CSV line, blanks trimmed,
// and returns how many there were.
func eachCSVField(line []byte, fn func(i int, f []byte) error) (int, error) {
	if bytes.IndexByte(line, '"') >= 0 {
		fields, err := csvFields(line)
		if err != nil {
			return 0, err
		}
		for i, f := range fields {
			if err := fn(i, f); err != nil {
				return i, err
			}
		}
		return len(fields), nil
	}
	for n := 0; ; n++ { // as csvFields, without its allocations
		f, rest, more := bytes.Cut(line, []byte{','})
		if err := fn(n, bytes.TrimSpace(f)); err != nil {
			return n, err
		}
		if !more {
			return n + 1, nil
		}
		line = rest
	}
}

func csvFields(line []byte) ([][]byte, error) {
	if bytes.IndexByte(line, '"') < 0 {
		fields := bytes.Split(line, []byte{','})
		for i := range fields {
			fields[i] = bytes.TrimSpace(fields[i])
		}
		return fields, nil
	}
	rec, err := csv.NewReader(bytes.NewReader(line)).Read()
	if err != nil {
		return nil, fmt.Errorf("malformed CSV: %v", err)
	}
	fields := make([][]byte, len(rec))
	for i, f := range rec {
		fields[i] = bytes.TrimSpace([]byte(f))
	}
	return fields, nil
}

// csvHeader says whether a CSV input's first line is a header: as h says,
// or, for HeaderAuto, when no field is empty and one is not a value of the
// input's datatype, or the fields are pandas's 0, 1, ..., n-1; the first
// field may be empty, as pandas's df.to_csv() writes it above the
// DataFrame's index (whose column then fails each row, naming it). A
// BYTES input has no header detection. nil: never.
func csvHeader(s rowSpec, h Header) func([]byte) bool {
	switch h {
	case HeaderYes:
		return func([]byte) bool { return true }
	case HeaderNo:
		return nil
	}
	return func(line []byte) bool {
		fields, err := csvFields(line)
		if err != nil || s.dt == backends.Bytes {
			return false
		}
		if len(fields) > 1 && len(fields[0]) == 0 { // pandas's index's header
			fields = fields[1:]
		}
		names, pandas := false, true
		for i, f := range fields {
			if len(f) == 0 {
				return false // a row with a missing value: it fails as a row
			}
			if _, err := tensorjson.AppendElement(nil, s.dt, f); err != nil {
				names = true
			}
			pandas = pandas && string(f) == strconv.Itoa(i)
		}
		return names || (pandas && len(fields) > 1)
	}
}
