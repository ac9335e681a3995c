package v2client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/tensorjson"
	"github.com/tiffin-ml/tiffin/transport"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// Response is a decoded inference response, in the V2 JSON form `tiffin
// infer` prints: every output's elements as JSON values, whichever wire
// and encoding carried them.
type Response struct {
	ModelName    string   `json:"model_name"`
	ModelVersion string   `json:"model_version"`
	ID           string   `json:"id,omitempty"`
	Outputs      []Output `json:"outputs"`
}

// Output is one output tensor. Data holds its elements in row-major
// order: numbers as the shortest decimal at their precision (NaN and
// infinities, which JSON cannot hold, as null), booleans, or strings for
// BYTES.
type Output struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
	Data     []any   `json:"data"`
}

// decodeHTTP reads a V2 HTTP response body, its binary outputs included.
// headerLen is Inference-Header-Content-Length ("" when absent).
func decodeHTTP(code int, headerLen string, b []byte) (*Response, error) {
	jsonPart, bin := b, []byte(nil)
	if headerLen != "" {
		n, err := strconv.Atoi(headerLen)
		if err != nil || n < 0 || n > len(b) {
			return nil, fmt.Errorf("bad Inference-Header-Content-Length %q", headerLen)
		}
		jsonPart, bin = b[:n], b[n:]
	}
	var r struct {
		ModelName    string `json:"model_name"`
		ModelVersion string `json:"model_version"`
		ID           string `json:"id"`
		Error        string `json:"error"`
		Outputs      []struct {
			Output
			Parameters map[string]any `json:"parameters"`
		} `json:"outputs"`
	}
	dec := json.NewDecoder(bytes.NewReader(jsonPart))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("HTTP %d: response is not JSON: %.200s", code, b)
	}
	if code != 200 {
		return nil, fmt.Errorf("HTTP %d: %s", code, r.Error)
	}
	out := &Response{ModelName: r.ModelName, ModelVersion: r.ModelVersion, ID: r.ID}
	for _, o := range r.Outputs {
		if size, ok := o.Parameters["binary_data_size"].(json.Number); ok {
			n, err := size.Int64()
			if err != nil || n < 0 || n > int64(len(bin)) {
				return nil, fmt.Errorf("output %s: binary_data_size %s runs past the body", o.Name, size)
			}
			if o.Data, err = rawValues(o.Datatype, o.Shape, bin[:n]); err != nil {
				return nil, fmt.Errorf("output %s: %w", o.Name, err)
			}
			bin = bin[n:]
		}
		o.Shape = nonNil(o.Shape)
		out.Outputs = append(out.Outputs, o.Output)
	}
	return out, nil
}

// decodeGRPC reads a ModelInfer response; outputs come as raw contents.
func decodeGRPC(resp *pb.ModelInferResponse) (*Response, error) {
	out := &Response{ModelName: resp.ModelName, ModelVersion: resp.ModelVersion, ID: resp.Id}
	for i, o := range resp.Outputs {
		var raw []byte
		if i < len(resp.RawOutputContents) {
			raw = resp.RawOutputContents[i]
		}
		data, err := rawValues(o.Datatype, o.Shape, raw)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", o.Name, err)
		}
		out.Outputs = append(out.Outputs, Output{Name: o.Name, Datatype: o.Datatype, Shape: nonNil(o.Shape), Data: data})
	}
	return out, nil
}

// rawValues lists a raw tensor's elements as JSON values.
func rawValues(datatype string, shape []int64, raw []byte) ([]any, error) {
	dt, ok := backends.ParseDataType(datatype)
	if !ok {
		return nil, fmt.Errorf("unknown datatype %q", datatype)
	}
	if dt == backends.Bytes {
		strs, err := transport.SplitBytesElements(raw, backends.NumElements(shape))
		if err != nil {
			return nil, err
		}
		out := make([]any, len(strs))
		for i, s := range strs {
			out[i] = string(s)
		}
		return out, nil
	}
	size := dt.Size()
	out := make([]any, 0, len(raw)/max(size, 1))
	for i := 0; size > 0 && i+size <= len(raw); i += size {
		out = append(out, json.RawMessage(tensorjson.AppendValue(nil, dt, raw[i:i+size])))
	}
	return out, nil
}

// ErrorText is a V2 error body's message, or the start of the body.
func ErrorText(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	if len(body) > 200 {
		body = body[:200]
	}
	return strings.TrimSpace(string(body))
}
