package jobs

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
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
		shape := in.Shape
		if sig.MaxBatchSize > 0 && len(shape) > 0 {
			shape = shape[1:]
		}
		out[i] = rowSpec{name: in.Name, dt: in.DataType, shape: shape}
	}
	return out
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

// decodeNDJSON reads one line: a JSON object holding each input's row. It
// scans the object itself, each value straight into tensor bytes; that
// is most of a job's CPU time, and twice as fast as encoding/json.
func decodeNDJSON(line []byte, specs []rowSpec) ([]backends.Tensor, error) {
	out := make([]backends.Tensor, len(specs))
	seen := 0
	err := scanObject(line, func(key string, p *valueParser) error {
		i := slices.IndexFunc(specs, func(s rowSpec) bool { return s.name == key })
		if i < 0 {
			return fmt.Errorf("unknown input %q", key)
		}
		if out[i].Name != "" {
			return fmt.Errorf("input %q given twice", key)
		}
		t, err := p.tensor(specs[i])
		if err != nil {
			return fmt.Errorf("input %q: %v", key, err)
		}
		out[i], seen = t, seen+1
		return nil
	})
	if err != nil {
		return nil, err
	}
	if seen < len(specs) {
		for _, s := range specs {
			if !slices.ContainsFunc(out, func(t backends.Tensor) bool { return t.Name == s.name }) {
				return nil, fmt.Errorf("missing input %q", s.name)
			}
		}
	}
	return out, nil
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
		return backends.Tensor{}, fmt.Errorf("unexpected %s after the value", clip(raw[p.pos:]))
	}
	return t, nil
}

// fitShape checks a row's shape against the spec's.
func fitShape(got []int64, count int64, want []int64) ([]int64, error) {
	if fits(got, want) {
		return slices.Clone(got), nil
	}
	if len(got) == 1 && backends.NumElements(want) == count {
		return slices.Clone(want), nil
	}
	return nil, fmt.Errorf("row has shape %v, the model takes %v per row", got, want)
}

func fits(got, want []int64) bool {
	if len(got) != len(want) {
		return false
	}
	for i, w := range want {
		if w >= 0 && got[i] != w {
			return false
		}
	}
	return true
}

// decodeCSV reads one line of comma-separated features of the single input.
func decodeCSV(line []byte, s rowSpec) ([]backends.Tensor, error) {
	fields, err := csvFields(line)
	if err != nil {
		return nil, err
	}
	t := backends.Tensor{Name: s.name, DataType: s.dt}
	for i, f := range fields {
		if s.dt == backends.Bytes {
			t.Strings = append(t.Strings, f)
			continue
		}
		if t.Data, err = appendElement(t.Data, s.dt, f); err != nil {
			return nil, fmt.Errorf("column %d: %v", i+1, err)
		}
	}
	n := int64(len(fields))
	if t.Shape, err = fitShape([]int64{n}, n, s.shape); err != nil {
		return nil, fmt.Errorf("%d columns do not fit input %q: %v", n, s.name, err)
	}
	return []backends.Tensor{t}, nil
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

// csvHeader reports whether a CSV line is a header: a field that is not a
// value of the input's datatype. A BYTES input has no header detection.
func csvHeader(s rowSpec) func([]byte) bool {
	return func(line []byte) bool {
		fields, err := csvFields(line)
		if err != nil || s.dt == backends.Bytes {
			return false
		}
		for _, f := range fields {
			if _, err := appendElement(nil, s.dt, f); err != nil {
				return true
			}
		}
		return false
	}
}
