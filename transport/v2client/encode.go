package v2client

import (
	"encoding/json"
	"fmt"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/tensorjson"
	"github.com/tiffin-ml/tiffin/transport"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// Request is one inference request.
type Request struct {
	Model   string
	Version string // "": the server's newest READY version
	ID      string // echoed in the response when set
	Inputs  []backends.Tensor
	Outputs []string // outputs to return; nil: all of them
	// Binary (HTTP only) sends the inputs in Triton's binary tensor
	// extension and asks for binary outputs; gRPC always sends raw bytes.
	Binary bool
}

// RawContents is a tensor's bytes as HTTP binary data and gRPC
// raw_input_contents carry them.
func RawContents(t *backends.Tensor) []byte {
	if t.DataType == backends.Bytes {
		return transport.AppendBytesElements(nil, t.Strings)
	}
	return t.Data
}

// httpInput is one input of a V2 HTTP request.
type httpInput struct {
	Name       string          `json:"name"`
	Datatype   string          `json:"datatype"`
	Shape      []int64         `json:"shape"`
	Data       json.RawMessage `json:"data,omitempty"`
	Parameters map[string]any  `json:"parameters,omitempty"`
}

type httpOutput struct {
	Name       string         `json:"name"`
	Parameters map[string]any `json:"parameters,omitempty"`
}

// EncodeHTTP writes a V2 HTTP inference request body. In JSON it returns
// headerLen -1. With r.Binary, the JSON header names each input's
// binary_data_size and asks for binary outputs, the raw tensors follow it,
// and headerLen is the header's length (Inference-Header-Content-Length).
func EncodeHTTP(r Request) (body []byte, headerLen int, err error) {
	req := struct {
		ID         string         `json:"id,omitempty"`
		Inputs     []httpInput    `json:"inputs"`
		Outputs    []httpOutput   `json:"outputs,omitempty"`
		Parameters map[string]any `json:"parameters,omitempty"`
	}{ID: r.ID}
	var raw []byte
	for i := range r.Inputs {
		t := &r.Inputs[i]
		in := httpInput{Name: t.Name, Datatype: t.DataType.String(), Shape: nonNil(t.Shape)}
		if r.Binary {
			b := RawContents(t)
			in.Parameters = map[string]any{"binary_data_size": len(b)}
			raw = append(raw, b...)
		} else if in.Data, err = jsonData(t); err != nil {
			return nil, 0, err
		}
		req.Inputs = append(req.Inputs, in)
	}
	for _, o := range r.Outputs {
		req.Outputs = append(req.Outputs, httpOutput{Name: o, Parameters: map[string]any{"binary_data": r.Binary}})
	}
	if r.Binary {
		req.Parameters = map[string]any{"binary_data_output": true}
	}
	header, err := json.Marshal(req)
	if err != nil || !r.Binary {
		return header, -1, err
	}
	return append(header, raw...), len(header), nil
}

// jsonData is a tensor's elements as a flat JSON array.
func jsonData(t *backends.Tensor) (json.RawMessage, error) {
	if t.DataType == backends.Bytes {
		out := []byte{'['}
		for i, s := range t.Strings {
			if i > 0 {
				out = append(out, ',')
			}
			out = tensorjson.AppendString(out, s)
		}
		return append(out, ']'), nil
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

// GRPCRequest builds a ModelInfer request with raw_input_contents. It may
// be sent many times, from many goroutines: marshalling only reads it.
func GRPCRequest(r Request) *pb.ModelInferRequest {
	req := &pb.ModelInferRequest{ModelName: r.Model, ModelVersion: r.Version, Id: r.ID}
	for i := range r.Inputs {
		t := &r.Inputs[i]
		req.Inputs = append(req.Inputs, &pb.ModelInferRequest_InferInputTensor{
			Name: t.Name, Datatype: t.DataType.String(), Shape: t.Shape})
		req.RawInputContents = append(req.RawInputContents, RawContents(t))
	}
	for _, o := range r.Outputs {
		req.Outputs = append(req.Outputs, &pb.ModelInferRequest_InferRequestedOutputTensor{Name: o})
	}
	return req
}

func nonNil(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}
