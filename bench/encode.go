package bench

import (
	"encoding/json"
	"fmt"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/tensorjson"
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
		out = tensorjson.AppendValue(out, t.DataType, t.Data[i:i+size])
	}
	return append(out, ']'), nil
}
