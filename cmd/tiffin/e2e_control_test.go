package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/tiffin-ml/tiffin/runtime/config"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// TestE2EFailedReloadKeepsServing reproduces finding 5: reloading a READY
// model over a corrupt file used to answer 500 and take the model down.
// Now the load answers 400 (INVALID_ARGUMENT over gRPC) with the reason,
// the serving version stays READY, and inference keeps working.
func TestE2EFailedReloadKeepsServing(t *testing.T) {
	repo := demoRepo(t)
	gs := startGRPC(t, repo, explicitControl)
	x := seqInput(1, 16, 3)
	body := map[string]any{"inputs": []map[string]any{{"name": "input", "datatype": "FP32", "shape": []int{1, 16}, "data": x}}}
	if err := postOK(gs.base+"/v2/models/mlp-small/infer", body); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(repo, "mlp-small", "1", "model.onnx"), []byte("this is not an onnx model"))
	r := gs.do(t, "POST", "/v2/repository/models/mlp-small/load", nil, nil)
	if r.status != 400 || !bytes.Contains(r.body, []byte("mlp-small")) {
		t.Fatalf("reload over a corrupt file: %d %s, want 400 naming the model", r.status, r.body)
	}
	if bytes.Contains(r.body, []byte(repo)) {
		t.Fatalf("the answer shows the server's path: %s", r.body)
	}
	_, err := gs.client.RepositoryModelLoad(ctxT(t), &pb.RepositoryModelLoadRequest{ModelName: "mlp-small"})
	wantCode(t, "grpc reload over a corrupt file", err, codes.InvalidArgument)
	if r := gs.do(t, "GET", "/v2/models/mlp-small/ready", nil, nil); r.status != 200 {
		t.Fatalf("mlp-small not ready after a failed reload: %d %s", r.status, r.body)
	}
	if err := postOK(gs.base+"/v2/models/mlp-small/infer", body); err != nil {
		t.Fatalf("infer after a failed reload: %v", err)
	}
	// A model that never loaded is still reported with its reason.
	writeFile(t, filepath.Join(repo, "broken", "1", "model.onnx"), []byte("nope"))
	if r := gs.do(t, "POST", "/v2/repository/models/broken/load", nil, nil); r.status != 400 {
		t.Fatalf("load of a corrupt model: %d %s", r.status, r.body)
	}
	if r := gs.do(t, "GET", "/v2/models/broken/ready", nil, nil); r.status != 503 {
		t.Fatalf("a corrupt model is not ready: %d %s", r.status, r.body)
	}
}

// TestE2EExplicitLoadModel: explicit mode loads only --load-model at start;
// the others can be loaded later.
func TestE2EExplicitLoadModel(t *testing.T) {
	ts := startServer(t, demoRepo(t), func(c *config.Server) {
		c.Repository.Mode = config.ControlExplicit
		c.Repository.LoadModels = []string{"mlp-small"}
	})
	if r := ts.do(t, "GET", "/v2/models/mlp-small/ready", nil, nil); r.status != 200 {
		t.Fatalf("mlp-small: %d", r.status)
	}
	if r := ts.do(t, "GET", "/v2/models/cnn/ready", nil, nil); r.status != 404 {
		t.Fatalf("cnn was not asked for at start: %d", r.status)
	}
	if r := ts.do(t, "POST", "/v2/repository/models/cnn/load", nil, nil); r.status != 200 {
		t.Fatalf("load cnn: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "GET", "/v2/models/cnn/ready", nil, nil); r.status != 200 {
		t.Fatalf("cnn after load: %d", r.status)
	}
}

// TestE2EPollMode: poll mode loads models that appear and unloads those
// that go, and refuses the load API.
func TestE2EPollMode(t *testing.T) {
	repo := demoRepo(t)
	ts := startServer(t, repo, func(c *config.Server) {
		c.Repository.Mode = config.ControlPoll
		c.Repository.PollEvery = 100 * time.Millisecond
	})
	if r := ts.do(t, "POST", "/v2/repository/models/cnn/unload", nil, nil); r.status != 403 {
		t.Fatalf("unload in poll mode: %d %s", r.status, r.body)
	}
	src, err := os.ReadFile(filepath.Join(repo, "mlp-small", "1", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(repo, "copy", "1", "model.onnx"), src)
	if err := os.RemoveAll(filepath.Join(repo, "cnn")); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ts, "/v2/models/copy/ready", 200)
	waitStatus(t, ts, "/v2/models/cnn/ready", 404)
}

func waitStatus(t *testing.T, ts *testServer, path string, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := ts.do(t, "GET", path, nil, nil)
		if r.status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d %s, want %d", path, r.status, r.body, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestE2ETokens reproduces finding 4's jobs half: with a token set, jobs
// cannot be submitted, listed, read or cancelled without it; with an
// inference token, inference needs it too, over both front ends, while
// health and metadata stay open.
func TestE2ETokens(t *testing.T) {
	gs := startGRPC(t, demoRepo(t), func(c *config.Server) {
		withJobs(t, 1, 4096)(c)
		c.Repository.Token = "ctl"
		c.Repository.InferenceToken = "inf"
	})
	ctl := map[string]string{"Authorization": "Bearer ctl"}
	inf := map[string]string{"Authorization": "Bearer inf"}
	for _, p := range []struct{ method, path string }{
		{"GET", "/v2/jobs"}, {"GET", "/v2/jobs/x"}, {"GET", "/v2/jobs/x/results"}, {"DELETE", "/v2/jobs/x"},
		{"POST", "/v2/jobs?model=mlp-small"},
	} {
		if r := gs.do(t, p.method, p.path, mlpNDJSON(2, nil), nil); r.status != 401 {
			t.Fatalf("%s %s without the token: %d %s", p.method, p.path, r.status, r.body)
		}
		if r := gs.do(t, p.method, p.path, mlpNDJSON(2, nil), inf); r.status != 401 {
			t.Fatalf("%s %s with the inference token: %d %s", p.method, p.path, r.status, r.body)
		}
	}
	r := gs.do(t, "POST", "/v2/jobs?model=mlp-small", mlpNDJSON(2, nil), ctl)
	var st struct{ ID string }
	if r.status != 200 && r.status != 201 && r.status != 202 || json.Unmarshal(r.body, &st) != nil {
		t.Fatalf("submit with the token: %d %s", r.status, r.body)
	}
	if r := gs.do(t, "GET", "/v2/jobs/"+st.ID, nil, ctl); r.status != 200 {
		t.Fatalf("status with the token: %d %s", r.status, r.body)
	}
	infer, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "input", "datatype": "FP32", "shape": []int{1, 16}, "data": seqInput(1, 16, 1)}}})
	if r := gs.do(t, "POST", "/v2/models/mlp-small/infer", infer, nil); r.status != 401 {
		t.Fatalf("infer without the inference token: %d %s", r.status, r.body)
	}
	for _, h := range []map[string]string{inf, ctl} {
		if r := gs.do(t, "POST", "/v2/models/mlp-small/infer", infer, h); r.status != 200 {
			t.Fatalf("infer with %v: %d %s", h, r.status, r.body)
		}
	}
	_, err := gs.client.ModelInfer(ctxT(t), mlpRequest("", seqInput(1, 16, 1), 1))
	wantCode(t, "grpc infer without the token", err, codes.Unauthenticated)
	good := metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer inf")
	if _, err := gs.client.ModelInfer(good, mlpRequest("", seqInput(1, 16, 1), 1)); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v2/health/ready", "/v2/models/mlp-small", "/v2"} {
		if r := gs.do(t, "GET", path, nil, nil); r.status != 200 {
			t.Fatalf("GET %s stays open: %d", path, r.status)
		}
	}
}
