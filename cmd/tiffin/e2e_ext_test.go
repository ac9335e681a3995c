package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/tiffin-ml/tiffin/runtime/config"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// TestE2EConfigJSON reads the config extension over HTTP in Triton's JSON
// shape: snake_case keys, numbers for 64-bit integers, enums by name.
func TestE2EConfigJSON(t *testing.T) {
	gs := startGRPC(t, demoRepo(t), nil)
	r := gs.do(t, "GET", "/v2/models/mlp-small/config", nil, nil)
	var cfg struct {
		Name         string `json:"name"`
		MaxBatchSize int    `json:"max_batch_size"`
		Input        []struct {
			Name     string  `json:"name"`
			DataType string  `json:"data_type"`
			Dims     []int64 `json:"dims"`
		} `json:"input"`
		DynamicBatching struct {
			PreferredBatchSize []int `json:"preferred_batch_size"`
			MaxQueueDelay      int64 `json:"max_queue_delay_microseconds"`
		} `json:"dynamic_batching"`
	}
	if err := json.Unmarshal(r.body, &cfg); err != nil || r.status != 200 {
		t.Fatalf("config: %d %v %s", r.status, err, r.body)
	}
	if cfg.Name != "mlp-small" || cfg.MaxBatchSize != 64 || cfg.Input[0].DataType != "TYPE_FP32" ||
		len(cfg.Input[0].Dims) != 1 || cfg.Input[0].Dims[0] != 16 || cfg.DynamicBatching.MaxQueueDelay != 2000 {
		t.Fatalf("config %+v from %s", cfg, r.body)
	}
	if r := gs.do(t, "GET", "/v2/models/mlp-small/versions/1/config", nil, nil); r.status != 200 {
		t.Fatalf("versioned config: %d %s", r.status, r.body)
	}
	if r := gs.do(t, "GET", "/v2/models/nope/config", nil, nil); r.status != 404 {
		t.Fatalf("config of an unknown model: %d %s", r.status, r.body)
	}
}

type statsJSON struct {
	ModelStats []struct {
		Name           string `json:"name"`
		Version        string `json:"version"`
		InferenceCount uint64 `json:"inference_count"`
		ExecutionCount uint64 `json:"execution_count"`
		LastInference  uint64 `json:"last_inference"`
		InferenceStats struct {
			Success struct {
				Count uint64 `json:"count"`
				Ns    uint64 `json:"ns"`
			} `json:"success"`
		} `json:"inference_stats"`
	} `json:"model_stats"`
}

// TestE2EStatistics counts inferences over gRPC and reads them back over
// gRPC and HTTP, for one model and for all.
func TestE2EStatistics(t *testing.T) {
	gs := startGRPC(t, demoRepo(t), nil)
	ctx := ctxT(t)
	for range 3 {
		if _, err := gs.client.ModelInfer(ctx, mlpRequest("", seqInput(2, 16, 1), 2)); err != nil {
			t.Fatal(err)
		}
	}
	st, err := gs.client.ModelStatistics(ctx, &pb.ModelStatisticsRequest{Name: "mlp-small", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	ms := st.ModelStats[0]
	if ms.InferenceCount != 6 || ms.InferenceStats.Success.Count != 3 || ms.ExecutionCount == 0 || ms.LastInference == 0 {
		t.Fatalf("grpc stats %v", ms)
	}
	var one statsJSON
	r := gs.do(t, "GET", "/v2/models/mlp-small/stats", nil, nil)
	if err := json.Unmarshal(r.body, &one); err != nil || len(one.ModelStats) != 1 {
		t.Fatalf("http stats: %v %s", err, r.body)
	}
	if s := one.ModelStats[0]; s.InferenceCount != 6 || s.InferenceStats.Success.Count != 3 || s.Version != "1" {
		t.Fatalf("http stats %+v", s)
	}
	var all statsJSON
	r = gs.do(t, "GET", "/v2/models/stats", nil, nil)
	if err := json.Unmarshal(r.body, &all); err != nil || len(all.ModelStats) != 4 {
		t.Fatalf("all stats: %v %s", err, r.body)
	}
	all2, err := gs.client.ModelStatistics(ctx, &pb.ModelStatisticsRequest{})
	if err != nil || len(all2.ModelStats) != 4 {
		t.Fatalf("grpc all stats: %v %v", all2, err)
	}
	if r := gs.do(t, "GET", "/v2/models/nope/stats", nil, nil); r.status != 404 {
		t.Fatalf("stats of an unknown model: %d", r.status)
	}
}

// TestE2ERepository indexes, unloads and loads over both front ends, and
// refuses names that would leave the repository.
func TestE2ERepository(t *testing.T) {
	gs := startGRPC(t, demoRepo(t), explicitControl)
	ctx := ctxT(t)
	idx, err := gs.client.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{Ready: true})
	if err != nil || len(idx.Models) != 4 || idx.Models[0].State != "READY" || idx.Models[0].Version != "1" {
		t.Fatalf("index: %v %v", idx, err)
	}
	if _, err := gs.client.RepositoryModelUnload(ctx, &pb.RepositoryModelUnloadRequest{ModelName: "cnn"}); err != nil {
		t.Fatal(err)
	}
	if r, _ := gs.client.ModelReady(ctx, &pb.ModelReadyRequest{Name: "cnn"}); r.GetReady() {
		t.Fatal("cnn is ready after unload")
	}
	// The index still names the unloaded model, as Triton's does: a client
	// finds there what it may load.
	var list []map[string]string
	r := gs.do(t, "POST", "/v2/repository/index", nil, nil)
	if err := json.Unmarshal(r.body, &list); err != nil || len(list) != 4 {
		t.Fatalf("http index after unload: %v %s", err, r.body)
	}
	var unloaded map[string]string
	for _, e := range list {
		if e["name"] == "cnn" {
			unloaded = e
		}
	}
	if unloaded["state"] != "UNAVAILABLE" || unloaded["reason"] != "not loaded" || unloaded["version"] != "" {
		t.Fatalf("http index after unload: cnn is %v, want UNAVAILABLE, not loaded", unloaded)
	}
	if idx, err := gs.client.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{Ready: true}); err != nil || len(idx.Models) != 3 {
		t.Fatalf("ready-only index after unload: %v %v", idx, err)
	}
	if r := gs.do(t, "POST", "/v2/repository/models/cnn/load", nil, nil); r.status != 200 {
		t.Fatalf("http load: %d %s", r.status, r.body)
	}
	if r := gs.do(t, "GET", "/v2/models/cnn/ready", nil, nil); r.status != 200 {
		t.Fatalf("cnn not ready after load: %d", r.status)
	}
	if r := gs.do(t, "POST", "/v2/repository/models/cnn/unload", []byte(`{"parameters":{"unload_dependents":true}}`), nil); r.status != 200 {
		t.Fatalf("http unload: %d %s", r.status, r.body)
	}
	if _, err := gs.client.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "cnn"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../x", "a/b", "..", ".", ""} {
		_, err := gs.client.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: name})
		wantCode(t, "load "+name, err, codes.InvalidArgument)
		_, err = gs.client.RepositoryModelUnload(ctx, &pb.RepositoryModelUnloadRequest{ModelName: name})
		wantCode(t, "unload "+name, err, codes.InvalidArgument)
	}
	for _, path := range []string{"/v2/repository/models/../x/load", "/v2/repository/models/a/b/load", "/v2/repository/models/../load", "/v2/repository/models/%2E%2E/load"} {
		if r := gs.do(t, "POST", path, nil, nil); r.status == 200 {
			t.Fatalf("POST %s: 200", path)
		}
	}
	_, err = gs.client.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "not-there"})
	wantCode(t, "load of a model not in the repository", err, codes.NotFound)
	if n := len(gs.do(t, "POST", "/v2/repository/index", nil, nil).body); n == 0 {
		t.Fatal("empty index")
	}
}

// explicitControl opens the control plane (model control mode explicit),
// with every model loaded at start.
func explicitControl(c *config.Server) {
	c.Repository.Mode = config.ControlExplicit
	c.Repository.LoadModels = []string{config.LoadAllModels}
}

// TestE2ERepositoryControlOff: the default mode, none, refuses load and
// unload on both front ends and says how to allow them.
func TestE2ERepositoryControlOff(t *testing.T) {
	gs := startGRPC(t, demoRepo(t), nil)
	_, err := gs.client.RepositoryModelUnload(ctxT(t), &pb.RepositoryModelUnloadRequest{ModelName: "cnn"})
	wantCode(t, "unload with control off", err, codes.PermissionDenied)
	if r := gs.do(t, "POST", "/v2/repository/models/cnn/load", nil, nil); r.status != 403 || !bytes.Contains(r.body, []byte("--model-control-mode explicit")) {
		t.Fatalf("http load with control off: %d %s", r.status, r.body)
	}
	if r := gs.do(t, "POST", "/v2/repository/models/cnn/unload", nil, nil); r.status != 403 {
		t.Fatalf("http unload with control off: %d %s", r.status, r.body)
	}
	if r := gs.do(t, "GET", "/v2/models/cnn/ready", nil, nil); r.status != 200 {
		t.Fatalf("cnn must still serve: %d", r.status)
	}
	if r := gs.do(t, "POST", "/v2/repository/index", nil, nil); r.status != 200 {
		t.Fatalf("the index stays open: %d", r.status)
	}
}

func TestE2ERepositoryToken(t *testing.T) {
	gs := startGRPC(t, demoRepo(t), func(c *config.Server) { explicitControl(c); c.Repository.Token = "s3cret" })
	ctx := ctxT(t)
	_, err := gs.client.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "cnn"})
	wantCode(t, "load without a token", err, codes.Unauthenticated)
	bad := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer nope")
	_, err = gs.client.RepositoryModelLoad(bad, &pb.RepositoryModelLoadRequest{ModelName: "cnn"})
	wantCode(t, "load with a wrong token", err, codes.Unauthenticated)
	good := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer s3cret")
	if _, err := gs.client.RepositoryModelLoad(good, &pb.RepositoryModelLoadRequest{ModelName: "cnn"}); err != nil {
		t.Fatal(err)
	}
	if r := gs.do(t, "POST", "/v2/repository/models/cnn/load", nil, nil); r.status != 401 {
		t.Fatalf("http load without a token: %d", r.status)
	}
	auth := map[string]string{"Authorization": "Bearer s3cret"}
	if r := gs.do(t, "POST", "/v2/repository/models/cnn/load", nil, auth); r.status != 200 {
		t.Fatalf("http load with the token: %d %s", r.status, r.body)
	}
}

// TestE2EReloadUnderLoad fires requests over HTTP and gRPC without pause
// while mlp-small is reloaded several times: none may fail, because the
// runtime loads the new version before it retires the old one.
func TestE2EReloadUnderLoad(t *testing.T) {
	gs := startGRPC(t, demoRepo(t), explicitControl)
	ctx, stop := context.WithCancel(ctxT(t))
	var wg sync.WaitGroup
	var done, failed atomic.Int64
	var firstErr atomic.Value
	x := seqInput(1, 16, 9)
	body := map[string]any{"inputs": []map[string]any{{"name": "input", "datatype": "FP32", "shape": []int{1, 16}, "data": x}}}
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				var err error
				if i%2 == 0 {
					_, err = gs.client.ModelInfer(ctx, mlpRequest("", x, 1))
				} else {
					err = postOK(gs.base+"/v2/models/mlp-small/infer", body)
				}
				if err != nil && ctx.Err() == nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
				done.Add(1)
			}
		}()
	}
	for range 3 {
		time.Sleep(100 * time.Millisecond)
		if _, err := gs.client.RepositoryModelLoad(ctxT(t), &pb.RepositoryModelLoadRequest{ModelName: "mlp-small"}); err != nil {
			t.Error(err) // not Fatal: the load goroutines must be stopped first
			break
		}
	}
	time.Sleep(100 * time.Millisecond)
	stop()
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d requests failed during reloads; first: %v", failed.Load(), done.Load(), firstErr.Load())
	}
	t.Logf("%d requests, none failed, across 3 reloads", done.Load())
}

// postOK posts JSON and fails unless the answer is 200; it is safe to call
// from any goroutine.
func postOK(url string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("status %d: %s", resp.StatusCode, msg)
	}
	return nil
}
