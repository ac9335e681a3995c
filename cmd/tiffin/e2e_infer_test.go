package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
)

func TestE2EHealthAndMetadata(t *testing.T) {
	ts := startServer(t, demoRepo(t), nil)
	for _, p := range []string{"/v2/health/live", "/v2/health/ready", "/v2/models/mlp-small/ready", "/v2/models/cnn/versions/1/ready"} {
		if r := ts.do(t, "GET", p, nil, nil); r.status != 200 {
			t.Fatalf("GET %s: %d %s", p, r.status, r.body)
		}
	}
	var server struct {
		Name       string   `json:"name"`
		Extensions []string `json:"extensions"`
	}
	if err := json.Unmarshal(ts.do(t, "GET", "/v2", nil, nil).body, &server); err != nil || server.Name != "tiffin" {
		t.Fatalf("server metadata: %+v %v", server, err)
	}
	for _, spec := range modelgen.Models() {
		r := ts.do(t, "GET", "/v2/models/"+spec.Name, nil, nil)
		var md struct {
			Name     string   `json:"name"`
			Versions []string `json:"versions"`
			Inputs   []struct {
				Name     string  `json:"name"`
				Datatype string  `json:"datatype"`
				Shape    []int64 `json:"shape"`
			} `json:"inputs"`
		}
		if err := json.Unmarshal(r.body, &md); err != nil || r.status != 200 {
			t.Fatalf("%s metadata: %d %s", spec.Name, r.status, r.body)
		}
		if md.Name != spec.Name || len(md.Versions) != 1 || len(md.Inputs) != len(spec.Metadata.Inputs) {
			t.Fatalf("%s metadata: %+v", spec.Name, md)
		}
		for i, in := range spec.Metadata.Inputs {
			if md.Inputs[i].Name != in.Name || md.Inputs[i].Datatype != in.DataType.String() || fmt.Sprint(md.Inputs[i].Shape) != fmt.Sprint(in.Shape) {
				t.Fatalf("%s input %d: %+v, want %v", spec.Name, i, md.Inputs[i], in)
			}
		}
	}
}

// TestE2EJSONMatchesReference runs every demo model over JSON (nested and
// flat data) and checks the numbers against the Go reference.
func TestE2EJSONMatchesReference(t *testing.T) {
	ts := startServer(t, demoRepo(t), nil)
	small, large, cnn := modelgen.MLPSmall(), modelgen.MLPLarge(), modelgen.NewCNN(modelgen.CNNSeed)
	cases := []struct {
		model string
		input string
		width int
		shape []int
		ref   func([]float32, int) []float32
	}{
		{"mlp-small", "input", 16, []int{16}, small.Forward},
		{"mlp-large", "input", 256, []int{256}, large.Forward},
		{"cnn", "image", 64, []int{1, 8, 8}, cnn.Forward},
	}
	for _, c := range cases {
		for _, batch := range []int{1, 3} {
			x := seqInput(batch, c.width, float32(batch))
			shape := append([]int{batch}, c.shape...)
			req := map[string]any{"id": "req-" + c.model, "inputs": []map[string]any{{
				"name": c.input, "datatype": "FP32", "shape": shape, "data": nest(x, batch),
			}}}
			r := ts.postJSON(t, "/v2/models/"+c.model+"/infer", req)
			if r.status != 200 {
				t.Fatalf("%s batch %d: %d %s", c.model, batch, r.status, r.body)
			}
			resp := decodeV2(t, r.body)
			if resp.ID != "req-"+c.model || resp.ModelName != c.model || resp.ModelVersion != "1" {
				t.Fatalf("%s: response header %+v", c.model, resp)
			}
			want := c.ref(x, batch)
			assertClose(t, c.model, floats(t, resp.Outputs[0].Data), want, 1e-5)
			if resp.Outputs[0].Shape[0] != int64(batch) {
				t.Fatalf("%s: output shape %v", c.model, resp.Outputs[0].Shape)
			}
		}
	}
}

// nest turns a flat batch into rows, to exercise nested "data".
func nest(x []float32, batch int) [][]float32 {
	w := len(x) / batch
	rows := make([][]float32, batch)
	for i := range rows {
		rows[i] = x[i*w : (i+1)*w]
	}
	return rows
}

// TestE2EMultiIO covers several inputs and outputs of several datatypes,
// and asking for a subset of the outputs.
func TestE2EMultiIO(t *testing.T) {
	ts := startServer(t, demoRepo(t), nil)
	in := modelgen.MultiIOInputs{
		A: []float32{-1, 0.5, 2, -0.25, 3, -3, 0, 1},
		B: []int32{1, -2, 3, 4, 5, 6, -7, 8},
		C: []float64{0.125, -4, 1e10, 2},
	}
	want := modelgen.NewMultiIO().Forward(in, 2)
	req := map[string]any{
		"inputs": []map[string]any{
			{"name": "a", "datatype": "FP32", "shape": []int{2, 4}, "data": in.A},
			{"name": "b", "datatype": "INT32", "shape": []int{2, 4}, "data": in.B},
			{"name": "c", "datatype": "FP64", "shape": []int{2, 2}, "data": in.C},
		},
		"outputs": []map[string]any{{"name": "positive"}, {"name": "scaled"}, {"name": "c_double"}},
	}
	r := ts.postJSON(t, "/v2/models/multi-io/infer", req)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	resp := decodeV2(t, r.body)
	if len(resp.Outputs) != 3 || resp.Outputs[0].Name != "positive" || resp.Outputs[1].Name != "scaled" {
		t.Fatalf("outputs %+v", resp.Outputs)
	}
	for i, raw := range resp.Outputs[0].Data {
		if string(raw) != strconv.FormatBool(want.Positive[i]) {
			t.Fatalf("positive[%d] = %s, want %v", i, raw, want.Positive[i])
		}
	}
	for i, raw := range resp.Outputs[1].Data {
		if string(raw) != strconv.FormatInt(want.Scaled[i], 10) {
			t.Fatalf("scaled[%d] = %s, want %d", i, raw, want.Scaled[i])
		}
	}
	if resp.Outputs[1].Datatype != "INT64" || resp.Outputs[0].Datatype != "BOOL" || resp.Outputs[2].Datatype != "FP64" {
		t.Fatalf("datatypes %s %s %s", resp.Outputs[0].Datatype, resp.Outputs[1].Datatype, resp.Outputs[2].Datatype)
	}
	for i, f := range floats(t, resp.Outputs[2].Data) {
		if f != want.CDouble[i] {
			t.Fatalf("c_double[%d] = %v, want %v", i, f, want.CDouble[i])
		}
	}
}
