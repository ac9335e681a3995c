package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/bench"
	"github.com/tiffin-ml/tiffin/runtime/tensorjson"
	"github.com/tiffin-ml/tiffin/transport"
	pb "github.com/tiffin-ml/tiffin/transport/grpc/inferencepb"
)

// jsonTensor reads a JSON array (nested or flat) as a tensor of dt. The
// shape is the nesting unless shape is given.
func jsonTensor(name string, dt backends.DataType, shape []int64, raw []byte) (backends.Tensor, error) {
	t := backends.Tensor{Name: name, DataType: dt}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return t, fmt.Errorf("not JSON: %v", err)
	}
	var leaves []any
	nested, err := flatten(v, 0, nil, &leaves)
	if err != nil {
		return t, err
	}
	t.Shape = nested
	if shape != nil {
		t.Shape = shape
	}
	if n := backends.NumElements(t.Shape); n != int64(len(leaves)) {
		return t, fmt.Errorf("shape %v holds %d elements but the data has %d", t.Shape, n, len(leaves))
	}
	for i, leaf := range leaves {
		if err := appendLeaf(&t, leaf); err != nil {
			return t, fmt.Errorf("element %d: %v", i, err)
		}
	}
	return t, nil
}

// flatten collects the leaves of a rectangular nested array and returns its
// shape; a scalar is a tensor of shape [].
func flatten(v any, depth int, shape []int64, leaves *[]any) ([]int64, error) {
	arr, ok := v.([]any)
	if !ok {
		*leaves = append(*leaves, v)
		return shape, nil
	}
	if depth == len(shape) {
		shape = append(shape, int64(len(arr)))
	} else if shape[depth] != int64(len(arr)) {
		return nil, fmt.Errorf("ragged array: rows of %d and %d elements", shape[depth], len(arr))
	}
	for _, e := range arr {
		var err error
		if shape, err = flatten(e, depth+1, shape, leaves); err != nil {
			return nil, err
		}
	}
	return shape, nil
}

func appendLeaf(t *backends.Tensor, leaf any) error {
	switch x := leaf.(type) {
	case bool:
		if t.DataType != backends.Bool {
			return fmt.Errorf("%v is not %s (use --datatype %s=BOOL)", x, t.DataType, t.Name)
		}
		t.Data = append(t.Data, map[bool]byte{false: 0, true: 1}[x])
		return nil
	case string:
		if t.DataType != backends.Bytes {
			return fmt.Errorf("%q is not %s (use --datatype %s=BYTES)", x, t.DataType, t.Name)
		}
		t.Strings = append(t.Strings, []byte(x))
		return nil
	}
	num, ok := leaf.(json.Number)
	if !ok {
		return fmt.Errorf("want a number, boolean or string, got %v", leaf)
	}
	data, err := tensorjson.AppendElement(t.Data, t.DataType, []byte(num))
	if err != nil {
		return err
	}
	t.Data = data
	return nil
}

// tensorValues lists a tensor's elements for printing: shortest decimal
// numbers (json.Number), booleans, or strings for BYTES.
func tensorValues(t *backends.Tensor) []any {
	if t.DataType == backends.Bytes {
		out := make([]any, len(t.Strings))
		for i, s := range t.Strings {
			out[i] = string(s)
		}
		return out
	}
	size := t.DataType.Size()
	out := make([]any, 0, len(t.Data)/max(size, 1))
	for i := 0; size > 0 && i+size <= len(t.Data); i += size {
		out = append(out, elementValue(t.DataType, t.Data[i:i+size]))
	}
	return out
}

// elementValue is one little-endian element as JSON: the shortest decimal
// at its precision (NaN and infinities, which JSON cannot hold, as null).
func elementValue(dt backends.DataType, b []byte) any {
	return json.RawMessage(tensorjson.AppendValue(nil, dt, b))
}

// inferGRPC sends the request as raw_input_contents.
func (a *inferArgs) inferGRPC(ctx context.Context, tensors []backends.Tensor) (*inferOutput, error) {
	conn, err := grpc.NewClient(a.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	req := &pb.ModelInferRequest{ModelName: a.model, ModelVersion: a.version, Id: a.id}
	for i := range tensors {
		t := &tensors[i]
		req.Inputs = append(req.Inputs, &pb.ModelInferRequest_InferInputTensor{Name: t.Name, Datatype: t.DataType.String(), Shape: t.Shape})
		req.RawInputContents = append(req.RawInputContents, bench.RawContents(t))
	}
	for _, o := range a.outputs {
		req.Outputs = append(req.Outputs, &pb.ModelInferRequest_InferRequestedOutputTensor{Name: o})
	}
	resp, err := pb.NewGRPCInferenceServiceClient(conn).ModelInfer(ctx, req)
	if err != nil {
		st := status.Convert(err)
		return nil, fmt.Errorf("%s: %s", st.Code(), st.Message())
	}
	out := &inferOutput{ModelName: resp.ModelName, ModelVersion: resp.ModelVersion, ID: resp.Id}
	for i, o := range resp.Outputs {
		dt, _ := backends.ParseDataType(o.Datatype)
		t := backends.Tensor{Name: o.Name, DataType: dt, Shape: o.Shape}
		if i < len(resp.RawOutputContents) {
			if err := setRaw(&t, resp.RawOutputContents[i]); err != nil {
				return nil, err
			}
		}
		out.Outputs = append(out.Outputs, outputTensor{Name: o.Name, Datatype: o.Datatype, Shape: nonNil(o.Shape), Data: tensorValues(&t)})
	}
	return out, nil
}

func setRaw(t *backends.Tensor, raw []byte) error {
	if t.DataType != backends.Bytes {
		t.Data = raw
		return nil
	}
	strs, err := transport.SplitBytesElements(raw, t.NumElements())
	t.Strings = strs
	return err
}

func nonNil(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}

// inferHTTP posts a V2 request: JSON, or with --binary the binary tensor
// extension both ways.
func (a *inferArgs) inferHTTP(ctx context.Context, tensors []backends.Tensor) (*inferOutput, error) {
	body, headerLen, err := a.httpBody(tensors)
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(a.httpURL, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	url := base + "/v2/models/" + a.model
	if a.version != "" {
		url += "/versions/" + a.version
	}
	req, err := http.NewRequestWithContext(ctx, "POST", url+"/infer", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if headerLen >= 0 {
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Inference-Header-Content-Length", strconv.Itoa(headerLen))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return parseHTTPResponse(resp, b)
}

func (a *inferArgs) httpBody(tensors []backends.Tensor) ([]byte, int, error) {
	type input struct {
		Name       string         `json:"name"`
		Datatype   string         `json:"datatype"`
		Shape      []int64        `json:"shape"`
		Data       *[]any         `json:"data,omitempty"` // a pointer: an empty tensor still sends "data": []
		Parameters map[string]any `json:"parameters,omitempty"`
	}
	req := map[string]any{}
	if a.id != "" {
		req["id"] = a.id
	}
	var inputs []input
	var bin []byte
	for i := range tensors {
		t := &tensors[i]
		in := input{Name: t.Name, Datatype: t.DataType.String(), Shape: nonNil(t.Shape)}
		if a.binary {
			raw := bench.RawContents(t)
			in.Parameters = map[string]any{"binary_data_size": len(raw)}
			bin = append(bin, raw...)
		} else {
			data := tensorValues(t)
			in.Data = &data
		}
		inputs = append(inputs, in)
	}
	req["inputs"] = inputs
	var outputs []map[string]any
	for _, o := range a.outputs {
		outputs = append(outputs, map[string]any{"name": o, "parameters": map[string]any{"binary_data": a.binary}})
	}
	if outputs != nil {
		req["outputs"] = outputs
	}
	if a.binary {
		req["parameters"] = map[string]any{"binary_data_output": true}
	}
	header, err := json.Marshal(req)
	if err != nil || !a.binary {
		return header, -1, err
	}
	return append(header, bin...), len(header), nil
}

// parseHTTPResponse reads a V2 response, its binary outputs included.
func parseHTTPResponse(resp *http.Response, b []byte) (*inferOutput, error) {
	jsonPart, bin := b, []byte(nil)
	if h := resp.Header.Get("Inference-Header-Content-Length"); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil || n > len(b) {
			return nil, fmt.Errorf("bad Inference-Header-Content-Length %q", h)
		}
		jsonPart, bin = b[:n], b[n:]
	}
	var r struct {
		ModelName    string `json:"model_name"`
		ModelVersion string `json:"model_version"`
		ID           string `json:"id"`
		Error        string `json:"error"`
		Outputs      []struct {
			outputTensor
			Parameters map[string]any `json:"parameters"`
		} `json:"outputs"`
	}
	dec := json.NewDecoder(bytes.NewReader(jsonPart))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("HTTP %d: response is not JSON: %.200s", resp.StatusCode, b)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, r.Error)
	}
	out := &inferOutput{ModelName: r.ModelName, ModelVersion: r.ModelVersion, ID: r.ID}
	for _, o := range r.Outputs {
		if size, ok := o.Parameters["binary_data_size"].(json.Number); ok {
			n, err := size.Int64()
			if err != nil || n > int64(len(bin)) {
				return nil, fmt.Errorf("output %s: binary_data_size %s runs past the body", o.Name, size)
			}
			dt, _ := backends.ParseDataType(o.Datatype)
			t := backends.Tensor{Name: o.Name, DataType: dt, Shape: o.Shape}
			if err := setRaw(&t, bin[:n]); err != nil {
				return nil, err
			}
			o.Data, bin = tensorValues(&t), bin[n:]
		}
		out.Outputs = append(out.Outputs, o.outputTensor)
	}
	return out, nil
}
