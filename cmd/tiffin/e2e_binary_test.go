package main

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
)

// binaryRequest builds a request in Triton's binary tensor extension: the
// JSON header, then the raw input bytes.
func binaryRequest(t *testing.T, header map[string]any, raw []byte) ([]byte, map[string]string) {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	return append(h, raw...), map[string]string{
		"Inference-Header-Content-Length": strconv.Itoa(len(h)),
		"Content-Type":                    "application/octet-stream",
	}
}

func TestE2EBinaryInAndOut(t *testing.T) {
	ts := startServer(t, demoRepo(t), nil)
	small := modelgen.MLPSmall()
	x := seqInput(4, 16, 0.5)
	raw := f32Bytes(x)
	body, hdr := binaryRequest(t, map[string]any{
		"inputs": []map[string]any{{"name": "input", "datatype": "FP32", "shape": []int{4, 16},
			"parameters": map[string]any{"binary_data_size": len(raw)}}},
		"outputs": []map[string]any{{"name": "output", "parameters": map[string]any{"binary_data": true}}},
	}, raw)
	r := ts.do(t, "POST", "/v2/models/mlp-small/infer", body, hdr)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	n, err := strconv.Atoi(r.header.Get("Inference-Header-Content-Length"))
	if err != nil {
		t.Fatalf("no Inference-Header-Content-Length in the response: %v", r.header)
	}
	resp := decodeV2(t, r.body[:n])
	size := int(resp.Outputs[0].Parameters["binary_data_size"].(float64))
	if size != 4*4*4 || len(r.body)-n != size {
		t.Fatalf("binary output: claimed %d, carried %d", size, len(r.body)-n)
	}
	assertClose(t, "binary output", bytesF32(r.body[n:]), small.Forward(x, 4), 1e-5)

	// Binary in, JSON out: the same numbers.
	body, hdr = binaryRequest(t, map[string]any{
		"inputs": []map[string]any{{"name": "input", "datatype": "FP32", "shape": []int{4, 16},
			"parameters": map[string]any{"binary_data_size": len(raw)}}},
	}, raw)
	r = ts.do(t, "POST", "/v2/models/mlp-small/infer", body, hdr)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	assertClose(t, "json output", floats(t, decodeV2(t, r.body).Outputs[0].Data), small.Forward(x, 4), 1e-5)

	// JSON in, every output binary through binary_data_output.
	r = ts.postJSON(t, "/v2/models/mlp-small/infer", map[string]any{
		"parameters": map[string]any{"binary_data_output": true},
		"inputs":     []map[string]any{{"name": "input", "datatype": "FP32", "shape": []int{4, 16}, "data": x}},
	})
	n, _ = strconv.Atoi(r.header.Get("Inference-Header-Content-Length"))
	if r.status != 200 || n == 0 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	assertClose(t, "binary_data_output", bytesF32(r.body[n:]), small.Forward(x, 4), 1e-5)
}

// TestE2ENoConfigRepository serves a repository holding nothing but an ONNX
// file: backend, signature and batching are all inferred.
func TestE2ENoConfigRepository(t *testing.T) {
	dir := t.TempDir()
	cnn := modelgen.NewCNN(modelgen.CNNSeed)
	b, err := cnn.ONNX()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir+"/dropped/7/model.onnx", b)
	ts := startServer(t, dir, nil)
	x := seqInput(2, 64, 3)
	raw := f32Bytes(x)
	body, hdr := binaryRequest(t, map[string]any{
		"inputs": []map[string]any{{"name": "image", "datatype": "FP32", "shape": []int{2, 1, 8, 8},
			"parameters": map[string]any{"binary_data_size": len(raw)}}},
	}, raw)
	r := ts.do(t, "POST", "/v2/models/dropped/versions/7/infer", body, hdr)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	resp := decodeV2(t, r.body)
	if resp.ModelVersion != "7" {
		t.Fatalf("version %q", resp.ModelVersion)
	}
	assertClose(t, "dropped cnn", floats(t, resp.Outputs[0].Data), cnn.Forward(x, 2), 1e-5)
}
