package http

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// stdRequest is the request as encoding/json reads it, the reference for
// the one-pass scanner: requestJSON's fields, with each input's data as
// encoding/json keeps a raw value (the shallower field wins).
type stdRequest struct {
	requestJSON
	Parameters map[string]any `json:"parameters"`
	Inputs     []stdInput     `json:"inputs"`
	Outputs    []stdOutput    `json:"outputs"`
}

type stdInput struct {
	inputJSON
	Parameters map[string]any  `json:"parameters"`
	Data       json.RawMessage `json:"data"`
}

type stdOutput struct {
	Name       string         `json:"name"`
	Parameters map[string]any `json:"parameters"`
}

// asMap is parameters as encoding/json reads them into a map; nil when
// empty (absent and empty are the same to tiffin, see orNil).
func (p parameters) asMap(t *testing.T) map[string]any {
	if len(p) == 0 {
		return nil
	}
	m := map[string]any{}
	for _, kv := range p {
		var v any
		if err := json.Unmarshal(kv.raw, &v); err != nil {
			t.Fatalf("parameter %q kept invalid JSON %q", kv.key, kv.raw)
		}
		m[kv.key] = v
	}
	return m
}

// orNil is an empty map as nil.
func orNil(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	return m
}

func sameOutputs(t *testing.T, got []outputRequest, std []stdOutput) bool {
	if len(got) != len(std) {
		return false
	}
	for i := range got {
		if got[i].Name != std[i].Name || !reflect.DeepEqual(got[i].Parameters.asMap(t), orNil(std[i].Parameters)) {
			return false
		}
	}
	return true
}

// checkAgainstStd: whatever encoding/json reads, the scanner reads the
// same; it may only be stricter about nesting depth.
func checkAgainstStd(t *testing.T, body []byte) {
	t.Helper()
	var std stdRequest
	stdErr := json.Unmarshal(body, &std)
	got, err := parseRequestJSON(body)
	if stdErr != nil {
		return // the scanner leaves number syntax inside data to decodeData
	}
	if lower := bytes.ToLower(body); bytes.Count(lower, []byte(`inputs"`)) > 1 || bytes.Count(lower, []byte(`outputs"`)) > 1 {
		// A repeated "inputs" or "outputs" key: encoding/json decodes the
		// second array over the first one's elements, keeping fields the
		// second lacks; the scanner starts afresh. Neither is wrong.
		return
	}
	if err != nil {
		if bytes.Count(body, []byte("[")) > maxDepth || bytes.Count(body, []byte("{")) > maxDepth {
			return
		}
		t.Fatalf("encoding/json reads %q, the scanner does not: %v", body, err)
	}
	if got.ID != std.ID || !reflect.DeepEqual(got.Parameters.asMap(t), orNil(std.Parameters)) || !sameOutputs(t, got.Outputs, std.Outputs) ||
		len(got.Inputs) != len(std.Inputs) {
		t.Fatalf("%q: scanner %+v, encoding/json %+v", body, got, std)
	}
	for i, in := range got.Inputs {
		s := std.Inputs[i]
		if in.Name != s.Name || !reflect.DeepEqual(in.Shape, s.Shape) || in.Datatype != s.Datatype ||
			!reflect.DeepEqual(in.Parameters.asMap(t), orNil(s.Parameters)) || !bytes.Equal(in.Data, s.Data) {
			t.Fatalf("%q input %d: scanner %+v, encoding/json %+v", body, i, in, s)
		}
	}
}

func TestParseRequestJSONMatchesStd(t *testing.T) {
	for _, body := range []string{
		`{"id":"7","inputs":[{"name":"a","datatype":"FP32","shape":[2],"data":[1,2]}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}`,
		` { "Inputs" : [ { "NAME":"a" , "data" : [[1, 2],[3,4]], "shape":[2,2], "datatype":"FP32", "extra": {"x":[null, "s\"]"]} } ] } `,
		`{"inputs":null,"id":"\u0041"}`,
		`{"inputs":[{"name":"s","datatype":"BYTES","shape":[2],"data":["a]b","c\\d"]}],"parameters":{"timeout":5}}`,
		`{"inputs":[],"inputs":[{"name":"twice"}]}`,
		`{"\u0069nputs":[{"name":"escaped key"}]}`,
		`{"inputs":[{"name":"a","shape":[ -3 , 0,12 ],"datatype":"INT64"},{"shape":[],"datatype":"fp32"},{"shape":null,"name":null}]}`,
		`{"inputs":[{"shape":[1.0]},{"shape":[01]},{"shape":[1e2]},{"shape":[-0]},{"shape":[123456789012345678901]}]}`,
		`{"inputs":[{"name":"café","datatype":"F\u0050","shape":[1,]}]}`,
		`{"inputs":[{"name":"ü","datatype":"FP32"},{"name":"tab\there","shape":[2,"3"]}]}`,
		`{"inputs":[{"data": [ [ 1.5e3 , -2 ] ,[true,null] ] ,"name":"n"},{"data":[]},{"data":[[],[[]]]}]}`,
		`{"inputs":[{"data":[1,"mixed",{"o":[2]}]}]}`,
		`{"parameters":{"timeout":2.5e3,"priority":"b\u0075lk","x":{"y":[1,null]},"a":1},"parameters":{"a":2,"t\u0061g":"\u00e9"},"inputs":[{"name":"a","Parameters":{"binary_data_size":8,"binary_data_size":16}}]}`,
		`{"inputs":[{"name":"a"}],"outputs":[{"name":"y","parameters":{"binary_data":true,"classification":3}},null,{"NAME":"z","parameters":null}]}`,
		`{"inputs":[{"name":"a"}],"outputs":[],"parameters":{}}`,
		`{"inputs":[{"name":"a"}],"outputs":null,"parameters":null}`,
	} {
		checkAgainstStd(t, []byte(body))
	}
	for _, bad := range []string{`{"inputs":[{"name":"a"}]`, `{"inputs":[1 2]}`, `{"id":"x"} trailing`, `{"inputs":[{"data":[1,2}]}`,
		`{"inputs":[{"data":[1,,2]}]}`, `{"inputs":[{"data":[1,]}]}`, `{"inputs":[{"data":[[1] [2]]}]}`, `{"inputs":[{"data":[1 2]}]}`,
		`{"inputs":[{"data":[[1],2]]}]}`, `{"inputs":[{"data":[1,2`,
		`{"id":"a` + "\n" + `"}`, string(bytes.Repeat([]byte("["), 100000))} {
		if _, err := parseRequestJSON([]byte(bad)); err == nil {
			t.Errorf("%.40q: accepted", bad)
		}
	}
}

// FuzzParseRequestJSON holds the scanner to encoding/json on arbitrary
// bodies.
func FuzzParseRequestJSON(f *testing.F) {
	f.Add([]byte(`{"id":"1","inputs":[{"name":"a","datatype":"FP32","shape":[2],"data":[1,2]}]}`))
	f.Add([]byte(`{"inputs":[{"name":"s","datatype":"BYTES","shape":[1],"data":["x\"y"]}],"outputs":[{"name":"o"}]}`))
	f.Add([]byte(`{"inputs":[{"name":"a","shape":[ -3 , 0,12 ],"datatype":"INT64"},{"shape":[01,1.5,1e2,-0]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) { checkAgainstStd(t, body) })
}
