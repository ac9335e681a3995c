//go:build cgo

package onnx

import (
	"bytes"
	"fmt"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tiffin-ml/tiffin/backends"
)

// inputValues wraps the (checked) inputs as ORT values. On error the values
// made so far are returned too, for the caller to destroy.
func (m *Model) inputValues(inputs []backends.Tensor) ([]ort.Value, error) {
	vals := make([]ort.Value, 0, len(inputs))
	for i := range inputs {
		v, err := inputValue(&inputs[i], m.scalars[m.meta.Inputs[i].Name])
		if err != nil {
			return vals, fmt.Errorf("input %q: %w", m.meta.Inputs[i].Name, err)
		}
		vals = append(vals, v)
	}
	return vals, nil
}

// inputValue wraps one checked tensor. A fixed-width tensor's bytes back the
// ORT value directly (ORT only reads them during Run); BYTES elements are
// copied into an ORT string tensor.
func inputValue(t *backends.Tensor, scalar bool) (ort.Value, error) {
	shape := ort.Shape(t.Shape)
	if scalar {
		shape = ort.Shape{1} // see scalars.go
	}
	if t.DataType == backends.Bytes {
		return stringValue(shape, t.Strings)
	}
	data := t.Data
	if len(data) == 0 {
		data = make([]byte, 1) // an empty tensor still needs a buffer
	}
	v, err := ort.NewCustomDataTensor(shape, data, toORT[t.DataType])
	if err != nil {
		return nil, err // not v: a typed nil
	}
	return v, nil
}

// stringValue makes an ORT string tensor. onnxruntime_go passes elements as
// C strings, so an element holding a NUL byte is refused rather than cut.
// Elements go in one at a time: SetContents would hold a Go string header
// and a C copy of every element at once beside ORT's own copies, which for
// millions of short elements is most of a request's memory.
func stringValue(shape ort.Shape, elems [][]byte) (ort.Value, error) {
	for i, e := range elems {
		if bytes.IndexByte(e, 0) >= 0 {
			return nil, fmt.Errorf("element %d holds a NUL byte, which the onnxruntime backend cannot pass", i)
		}
	}
	st, err := ort.NewStringTensor(shape)
	if err != nil {
		return nil, err
	}
	for i, e := range elems {
		if len(e) == 0 {
			continue // a new string tensor's elements are empty
		}
		// SetElement copies e into C memory at once, so a view is enough.
		if err := st.SetElement(int64(i), unsafe.String(unsafe.SliceData(e), len(e))); err != nil {
			st.Destroy()
			return nil, err
		}
	}
	return st, nil
}

// outputValues returns the output slots for Run, nil where ORT is to
// allocate the output. Where the output's shape is known before the run
// (fixed, or fixed but for a leading batch axis, which is then the inputs'
// batch size), it is allocated here in Go memory and ORT writes into it:
// the result then needs no copy out of ORT's memory and no ORT value to
// read back (several cgo calls a run). ORT-allocated outputs remain for
// BYTES, for other dynamic shapes, and after a run that refused Go's
// buffers (m.oursRefused; Run retries it once without them).
//
// FP16 and BF16 outputs are always allocated here: onnxruntime_go
// (v1.27.0) copies only one byte per element out of an ORT-allocated
// 16-bit float tensor and then fails with "not enough space". Their shape
// must be known before the run. A scalar is [1] to the session (see
// scalars.go).
func (m *Model) outputValues(inputs []backends.Tensor, ours bool) ([]ort.Value, error) {
	outs := make([]ort.Value, len(m.meta.Outputs))
	for i, spec := range m.meta.Outputs {
		half := spec.DataType == backends.FP16 || spec.DataType == backends.BF16
		if !half && (!ours || spec.DataType == backends.Bytes) {
			continue
		}
		v, err := m.preallocate(spec, inputs)
		if err != nil {
			if !half {
				continue // ORT allocates it
			}
			return outs, fmt.Errorf("output %q: %w", spec.Name, err)
		}
		outs[i] = v
	}
	return outs, nil
}

// preallocate makes a Go-backed output tensor for spec.
func (m *Model) preallocate(spec backends.TensorSpec, inputs []backends.Tensor) (ort.Value, error) {
	shape := ort.Shape(append([]int64(nil), spec.Shape...))
	for i, d := range shape {
		if d >= 0 {
			continue
		}
		batch, ok := m.batchSize(inputs)
		if i > 0 || !ok {
			return nil, fmt.Errorf("%s output of shape %v: the onnxruntime backend can only return %s outputs whose axes are fixed but for the batch axis", spec.DataType, spec.Shape, spec.DataType)
		}
		shape[i] = batch
	}
	if len(shape) == 0 {
		if !m.scalars[spec.Name] { // unknown rank, which ORT also shows as []
			return nil, fmt.Errorf("%s output of unknown rank is not supported", spec.DataType)
		}
		shape = ort.Shape{1} // a scalar; see scalars.go
	}
	n := backends.NumElements(shape)
	if n < 0 {
		return nil, fmt.Errorf("%s output of shape %v is not supported", spec.DataType, spec.Shape)
	}
	v, err := ort.NewCustomDataTensor(shape, backends.OutputBuffer(int(max(1, n*int64(spec.DataType.Size())))), toORT[spec.DataType])
	if err != nil {
		return nil, err // not v: a typed nil
	}
	return v, nil
}

// batchSize is the leading axis of the first input whose leading axis is
// dynamic.
func (m *Model) batchSize(inputs []backends.Tensor) (int64, bool) {
	for i, spec := range m.meta.Inputs {
		if len(spec.Shape) > 0 && spec.Shape[0] < 0 && len(inputs[i].Shape) > 0 {
			return inputs[i].Shape[0], true
		}
	}
	return 0, false
}

// results converts the outputs of a run, in metadata order.
func (m *Model) results(outs []ort.Value) ([]backends.Tensor, error) {
	res := make([]backends.Tensor, len(outs))
	for i, v := range outs {
		t, err := result(m.meta.Outputs[i], v, m.scalars[m.meta.Outputs[i].Name])
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", m.meta.Outputs[i].Name, err)
		}
		res[i] = t
	}
	return res, nil
}

// result converts one output value, with the shape ORT gave it (a wrapped
// scalar's [1] back to [], when scalar says so).
func result(spec backends.TensorSpec, v ort.Value, scalar bool) (backends.Tensor, error) {
	t := backends.Tensor{Name: spec.Name, DataType: spec.DataType, Shape: v.GetShape()}
	if scalar {
		t.Shape = []int64{} // [1] to the session; see scalars.go
	}
	if got, ok := fromORT[ort.TensorElementDataType(v.DataType())]; !ok || got != spec.DataType {
		return t, fmt.Errorf("onnxruntime returned element type %s, model declares %s",
			ort.TensorElementDataType(v.DataType()), spec.DataType)
	}
	if st, ok := v.(*ort.StringTensor); ok {
		strs, err := st.GetContents()
		if err != nil {
			return t, fmt.Errorf("reading strings: %w", err)
		}
		// GetContents made each string afresh and keeps none: the
		// elements are views of them rather than second copies.
		t.Strings = make([][]byte, len(strs))
		for i, s := range strs {
			t.Strings[i] = unsafe.Slice(unsafe.StringData(s), len(s))
		}
	} else {
		data, ok := goBytes(v)
		if !ok {
			return t, fmt.Errorf("unexpected onnxruntime value %T", v)
		}
		// A preallocated empty tensor's buffer holds a placeholder byte.
		if want := t.NumElements() * int64(spec.DataType.Size()); want >= 0 && int64(len(data)) > want {
			data = data[:want]
		}
		t.Data = data
	}
	if err := t.Check(); err != nil {
		return t, err
	}
	return t, nil
}

// goBytes returns the contents of a fixed-width tensor as bytes. Every value
// here is backed by a Go slice (onnxruntime_go copies ORT-allocated outputs
// into Go memory), so the bytes stay valid after the value is destroyed and
// need no further copy.
func goBytes(v ort.Value) ([]byte, bool) {
	switch v := v.(type) {
	case *ort.CustomDataTensor:
		return v.GetData(), true
	case *ort.Tensor[bool]:
		return asBytes(v.GetData()), true
	case *ort.Tensor[uint8]:
		return asBytes(v.GetData()), true
	case *ort.Tensor[uint16]:
		return asBytes(v.GetData()), true
	case *ort.Tensor[uint32]:
		return asBytes(v.GetData()), true
	case *ort.Tensor[uint64]:
		return asBytes(v.GetData()), true
	case *ort.Tensor[int8]:
		return asBytes(v.GetData()), true
	case *ort.Tensor[int16]:
		return asBytes(v.GetData()), true
	case *ort.Tensor[int32]:
		return asBytes(v.GetData()), true
	case *ort.Tensor[int64]:
		return asBytes(v.GetData()), true
	case *ort.Tensor[float32]:
		return asBytes(v.GetData()), true
	case *ort.Tensor[float64]:
		return asBytes(v.GetData()), true
	}
	return nil, false
}

// asBytes views a slice of fixed-width elements as its (little-endian, on
// every platform ORT ships for) bytes.
func asBytes[T ort.TensorData](s []T) []byte {
	if len(s) == 0 {
		return []byte{}
	}
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(zero)))
}
