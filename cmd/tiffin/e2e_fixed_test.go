package main

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// TestE2EFixedShapeModel serves a model with no batch axis (input [2,3],
// outputs [2,4] and [4]) from a bare model.onnx, over JSON, binary
// and gRPC. Such a model takes and returns whole tensors: its first axis of
// 2 is not a batch, and its [4] output has no batch axis at all.
func TestE2EFixedShapeModel(t *testing.T) {
	fixed := modelgen.NewFixed(7)
	onnxBytes, err := fixed.ONNX()
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	writeFile(t, filepath.Join(repo, "fixed", "1", "model.onnx"), onnxBytes)
	gs := startGRPC(t, repo, nil)
	x := seqInput(modelgen.FixedRows, modelgen.FixedIn, 0.25)
	wantY, wantSum := fixed.Forward(x)

	r := gs.do(t, "GET", "/v2/models/fixed/ready", nil, nil)
	if r.status != 200 {
		t.Fatalf("ready: %d %s", r.status, r.body)
	}

	// JSON: both outputs, whole.
	r = gs.postJSON(t, "/v2/models/fixed/infer", map[string]any{"inputs": []map[string]any{
		{"name": "x", "datatype": "FP32", "shape": []int{2, 3}, "data": x}}})
	if r.status != 200 {
		t.Fatalf("json infer: %d %s", r.status, r.body)
	}
	resp := decodeV2(t, r.body)
	if len(resp.Outputs) != 2 || len(resp.Outputs[0].Shape) != 2 || resp.Outputs[0].Shape[0] != 2 || len(resp.Outputs[1].Shape) != 1 {
		t.Fatalf("json outputs: %s", r.body)
	}
	assertClose(t, "json y", floats(t, resp.Outputs[0].Data), wantY, 1e-5)
	assertClose(t, "json colsum", floats(t, resp.Outputs[1].Data), wantSum, 1e-5)

	// Binary in and out.
	raw := f32Bytes(x)
	body, hdr := binaryRequest(t, map[string]any{
		"inputs": []map[string]any{{"name": "x", "datatype": "FP32", "shape": []int{2, 3},
			"parameters": map[string]any{"binary_data_size": len(raw)}}},
		"outputs": []map[string]any{{"name": "y", "parameters": map[string]any{"binary_data": true}}},
	}, raw)
	r = gs.do(t, "POST", "/v2/models/fixed/infer", body, hdr)
	if r.status != 200 {
		t.Fatalf("binary infer: %d %s", r.status, r.body)
	}
	n, _ := strconv.Atoi(r.header.Get("Inference-Header-Content-Length"))
	assertClose(t, "binary y", bytesF32(r.body[n:]), wantY, 1e-5)

	// gRPC.
	g, err := gs.client.ModelInfer(ctxT(t), &pb.ModelInferRequest{ModelName: "fixed",
		Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{2, 3}}},
		RawInputContents: [][]byte{raw}})
	if err != nil {
		t.Fatalf("grpc infer: %v", err)
	}
	assertClose(t, "grpc y", bytesF32(g.RawOutputContents[0]), wantY, 1e-5)
	assertClose(t, "grpc colsum", bytesF32(g.RawOutputContents[1]), wantSum, 1e-5)

	// A batch of 1 is not this model's shape: a clear 400 naming it.
	r = gs.postJSON(t, "/v2/models/fixed/infer", map[string]any{"inputs": []map[string]any{
		{"name": "x", "datatype": "FP32", "shape": []int{1, 3}, "data": x[:3]}}})
	if r.status != 400 {
		t.Fatalf("wrong shape: %d %s, want 400", r.status, r.body)
	}
}
