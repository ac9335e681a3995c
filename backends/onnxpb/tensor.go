package onnxpb

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/tiffin-ml/tiffin/backends"
)

// ToTensor decodes a TensorProto (an initializer, or a .pb file of ONNX's
// test data) into a backends.Tensor of the matching V2 datatype. The values
// may be in raw_data (little-endian, one byte per BOOL) or in the typed
// field the ONNX specification assigns to the element type: float_data,
// double_data, int64_data, uint64_data (UINT32, UINT64), string_data, or
// int32_data (every narrower type, FP16 and BF16 as their bit patterns).
// External and segmented tensors, and element types without a V2 datatype,
// are refused with an error naming the tensor.
func ToTensor(t *TensorProto) (backends.Tensor, error) {
	out := backends.Tensor{Name: t.GetName(), Shape: append([]int64{}, t.GetDims()...)}
	if t.GetDataLocation() == TensorProto_EXTERNAL || len(t.GetExternalData()) > 0 {
		return out, fmt.Errorf("tensor %q: external data is not supported", t.GetName())
	}
	if t.GetSegment() != nil {
		return out, fmt.Errorf("tensor %q: segmented tensors are not supported", t.GetName())
	}
	d, ok := ToDataType(t.GetDataType())
	if !ok {
		return out, fmt.Errorf("tensor %q: element type %s has no V2 datatype", t.GetName(), elemString(t.GetDataType()))
	}
	out.DataType = d
	n := backends.NumElements(out.Shape)
	if n < 0 {
		return out, fmt.Errorf("tensor %q: invalid dims %v", t.GetName(), out.Shape)
	}
	var err error
	if d == backends.Bytes {
		out.Strings = t.GetStringData()
	} else if raw := t.GetRawData(); len(raw) > 0 || typedCount(t) == 0 {
		out.Data = append([]byte{}, raw...)
	} else {
		out.Data, err = typedBytes(t, d)
	}
	if err == nil {
		err = out.Check()
	}
	if err != nil {
		return out, fmt.Errorf("tensor %q: %w", t.GetName(), err)
	}
	return out, nil
}

// typedCount is how many values the typed fields hold together.
func typedCount(t *TensorProto) int {
	return len(t.GetFloatData()) + len(t.GetDoubleData()) + len(t.GetInt32Data()) +
		len(t.GetInt64Data()) + len(t.GetUint64Data())
}

// typedBytes packs the typed field of d's element type as little-endian bytes.
func typedBytes(t *TensorProto, d backends.DataType) ([]byte, error) {
	size := d.Size()
	var vals []uint64
	switch d {
	case backends.FP32:
		for _, v := range t.GetFloatData() {
			vals = append(vals, uint64(math.Float32bits(v)))
		}
	case backends.FP64:
		for _, v := range t.GetDoubleData() {
			vals = append(vals, math.Float64bits(v))
		}
	case backends.Int64:
		for _, v := range t.GetInt64Data() {
			vals = append(vals, uint64(v))
		}
	case backends.Uint32, backends.Uint64:
		vals = t.GetUint64Data()
	default: // BOOL, 8- and 16-bit ints, INT32, FP16, BF16
		for _, v := range t.GetInt32Data() {
			vals = append(vals, uint64(uint32(v)))
		}
	}
	if len(vals) != typedCount(t) {
		return nil, fmt.Errorf("%s values are in a field the ONNX specification does not give that type", d)
	}
	buf := make([]byte, 8)
	out := make([]byte, 0, len(vals)*size)
	for _, v := range vals {
		binary.LittleEndian.PutUint64(buf, v)
		out = append(out, buf[:size]...)
	}
	return out, nil
}
