package bench

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/transport"
)

// v2Input is one input of a V2 HTTP request.
type v2Input struct {
	Name       string          `json:"name"`
	Datatype   string          `json:"datatype"`
	Shape      []int64         `json:"shape"`
	Data       json.RawMessage `json:"data,omitempty"`
	Parameters map[string]any  `json:"parameters,omitempty"`
}

// encodeV2 writes a V2 HTTP inference request body. In JSON it returns
// headerLen -1. With binary, the JSON header names each input's
// binary_data_size and asks for binary outputs, the raw tensors follow it,
// and headerLen is the header's length (Inference-Header-Content-Length).
func encodeV2(inputs []backends.Tensor, binaryData bool) (body []byte, headerLen int, err error) {
	req := struct {
		Inputs     []v2Input      `json:"inputs"`
		Parameters map[string]any `json:"parameters,omitempty"`
	}{}
	var raw []byte
	for i := range inputs {
		t := &inputs[i]
		in := v2Input{Name: t.Name, Datatype: t.DataType.String(), Shape: t.Shape}
		if in.Shape == nil {
			in.Shape = []int64{}
		}
		if binaryData {
			b := RawContents(t)
			in.Parameters = map[string]any{"binary_data_size": len(b)}
			raw = append(raw, b...)
		} else if in.Data, err = jsonData(t); err != nil {
			return nil, 0, err
		}
		req.Inputs = append(req.Inputs, in)
	}
	if binaryData {
		req.Parameters = map[string]any{"binary_data_output": true}
	}
	header, err := json.Marshal(req)
	if err != nil || !binaryData {
		return header, -1, err
	}
	return append(header, raw...), len(header), nil
}

// RawContents is a tensor's bytes as HTTP binary data and gRPC
// raw_input_contents carry them.
func RawContents(t *backends.Tensor) []byte {
	if t.DataType == backends.Bytes {
		return transport.AppendBytesElements(nil, t.Strings)
	}
	return t.Data
}

// jsonData is a tensor's elements as a flat JSON array.
func jsonData(t *backends.Tensor) (json.RawMessage, error) {
	if t.DataType == backends.Bytes {
		strs := make([]string, len(t.Strings))
		for i, s := range t.Strings {
			strs[i] = string(s)
		}
		return json.Marshal(strs)
	}
	size := t.DataType.Size()
	if size == 0 || len(t.Data)%size != 0 {
		return nil, fmt.Errorf("input %q: %d bytes of %s", t.Name, len(t.Data), t.DataType)
	}
	out := []byte{'['}
	for i := 0; i < len(t.Data); i += size {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendElement(out, t.DataType, t.Data[i:i+size])
	}
	return append(out, ']'), nil
}

// appendElement writes one little-endian element as JSON.
func appendElement(dst []byte, dt backends.DataType, b []byte) []byte {
	var u uint64
	for i := len(b) - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	shift := 64 - 8*len(b)
	switch dt {
	case backends.Bool:
		return strconv.AppendBool(dst, u != 0)
	case backends.FP32:
		return strconv.AppendFloat(dst, float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), 'g', -1, 32)
	case backends.FP64:
		return strconv.AppendFloat(dst, math.Float64frombits(u), 'g', -1, 64)
	case backends.BF16:
		return strconv.AppendFloat(dst, float64(math.Float32frombits(uint32(u)<<16)), 'g', -1, 32)
	case backends.FP16:
		return strconv.AppendFloat(dst, halfToFloat(uint16(u)), 'g', -1, 32)
	case backends.Int8, backends.Int16, backends.Int32, backends.Int64:
		return strconv.AppendInt(dst, int64(u<<shift)>>shift, 10)
	}
	return strconv.AppendUint(dst, u, 10)
}

// halfToFloat widens a finite IEEE 754 binary16 (synthetic inputs hold no
// infinities or NaNs).
func halfToFloat(h uint16) float64 {
	exp, mant := int(h>>10&0x1f), float64(h&0x3ff)
	f := math.Ldexp(1+mant/1024, exp-15)
	if exp == 0 {
		f = math.Ldexp(mant, -24)
	}
	if h&0x8000 != 0 {
		f = -f
	}
	return f
}
