package main

import (
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/modelgen"
	"github.com/tiffin-ml/tiffin/backends/onnxpb"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// TestE2EUnloadableModel serves a model whose file parses but which ONNX
// Runtime cannot load (an op it has no kernel for). The model is
// UNAVAILABLE with ONNX Runtime's reason, and inference is refused with 503
// / Unavailable before the request is held against its signature: a
// request the model's declared inputs would reject still gets 503, never a
// 400 or a 500.
func TestE2EUnloadableModel(t *testing.T) {
	model, err := modelgen.Identity(backends.FP32, true, 2)
	if err != nil {
		t.Fatal(err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(model, &m); err != nil {
		t.Fatal(err)
	}
	m.Graph.Node[0].OpType = "NoSuchOp"
	if model, err = proto.Marshal(&m); err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	writeFile(t, filepath.Join(repo, "noop", "1", "model.onnx"), model)
	gs := startGRPC(t, repo, nil)

	r := gs.do(t, "GET", "/v2/models/noop/ready", nil, nil)
	if r.status != 503 || !strings.Contains(string(r.body), "NoSuchOp") {
		t.Fatalf("ready: %d %s, want 503 naming NoSuchOp", r.status, r.body)
	}
	r = gs.postJSON(t, "/v2/repository/index", map[string]any{})
	if !strings.Contains(string(r.body), `"UNAVAILABLE"`) || !strings.Contains(string(r.body), "NoSuchOp") {
		t.Fatalf("repository index: %s, want UNAVAILABLE with ONNX Runtime's reason", r.body)
	}
	for _, in := range []string{"x", "bogus"} {
		r = gs.postJSON(t, "/v2/models/noop/infer", map[string]any{"inputs": []map[string]any{
			{"name": in, "datatype": "FP32", "shape": []int{1, 2}, "data": []float32{1, 2}}}})
		if r.status != 503 {
			t.Errorf("http infer with input %q: %d %s, want 503", in, r.status, r.body)
		}
		_, err := gs.client.ModelInfer(ctxT(t), &pb.ModelInferRequest{ModelName: "noop",
			Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: in, Datatype: "FP32", Shape: []int64{1, 2}}},
			RawInputContents: [][]byte{f32Bytes([]float32{1, 2})}})
		wantCode(t, "grpc infer with input "+in, err, codes.Unavailable)
	}
}

// TestE2ERelativeRepositoryPathCut serves a repository named relative to
// the working directory, as `make run` does, with a model whose config is
// broken: the client's error names the model's file, never the folder the
// repository sits in (README, "Security model").
func TestE2ERelativeRepositoryPathCut(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "private-repo", "cnn", "config.yaml"), []byte("max_batch_size: [\n"))
	writeFile(t, filepath.Join(dir, "private-repo", "cnn", "1", "model.onnx"), []byte("not a model"))
	lib, err := filepath.Abs(requireORT(t)) // found before the move
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	ts := startServerWith(t, "private-repo", lib, nil)
	// The server's readiness also says why it is not ready (strict, the default).
	for _, path := range []string{"/v2/models/cnn/ready", "/v2/health/ready"} {
		r := ts.do(t, "GET", path, nil, nil)
		if r.status != 503 || !strings.Contains(string(r.body), "…/cnn/config.yaml") || strings.Contains(string(r.body), "private-repo") {
			t.Errorf("%s: %d %s; want 503 naming …/cnn/config.yaml and not the repository's folder", path, r.status, r.body)
		}
	}
}
