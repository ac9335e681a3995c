package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

// TestE2EBadInput sends each kind of bad request and checks the status, that
// the message names the problem, and that the server keeps serving.
func TestE2EBadInput(t *testing.T) {
	ts := startServer(t, demoRepo(t), func(c *config.Server) { c.MaxBodyBytes = 1 << 20 })
	good := func() {
		t.Helper()
		r := ts.postJSON(t, "/v2/models/mlp-small/infer", map[string]any{"inputs": []map[string]any{
			{"name": "input", "datatype": "FP32", "shape": []int{1, 16}, "data": make([]float32, 16)}}})
		if r.status != 200 {
			t.Fatalf("a good request after a bad one failed: %d %s", r.status, r.body)
		}
	}
	in := func(name, dt string, shape []int, data any) []byte {
		return []byte(fmt.Sprintf(`{"inputs":[{"name":%q,"datatype":%q,"shape":%s,"data":%s}]}`,
			name, dt, strings.ReplaceAll(fmt.Sprint(shape), " ", ","), data))
	}
	zeros := func(n int) string { return "[" + strings.TrimSuffix(strings.Repeat("0,", n), ",") + "]" }
	binHeader := `{"inputs":[{"name":"input","datatype":"FP32","shape":[2,16],"parameters":{"binary_data_size":128}}]}`
	cases := []struct {
		name   string
		path   string
		body   []byte
		header map[string]string
		status int
		want   string
	}{
		{"wrong input name", "/v2/models/mlp-small/infer", in("inptu", "FP32", []int{1, 16}, zeros(16)), nil, 400, `unknown input "inptu" for model mlp-small (inputs: input)`},
		{"wrong datatype", "/v2/models/mlp-small/infer", in("input", "INT64", []int{1, 16}, zeros(16)), nil, 400, `has datatype INT64, model mlp-small expects FP32`},
		{"wrong shape", "/v2/models/mlp-small/infer", in("input", "FP32", []int{1, 15}, zeros(15)), nil, 400, `has shape [1 15], model mlp-small expects [-1 16]`},
		{"wrong element count", "/v2/models/mlp-small/infer", in("input", "FP32", []int{1, 16}, zeros(15)), nil, 400, `shape holds 16 elements but data has 15`},
		{"unknown datatype", "/v2/models/mlp-small/infer", in("input", "FLOAT", []int{1, 16}, zeros(16)), nil, 400, `unknown datatype "FLOAT"`},
		{"bad element", "/v2/models/mlp-small/infer", in("input", "FP32", []int{1, 16}, `[1,"x",1,1,1,1,1,1,1,1,1,1,1,1,1,1]`), nil, 400, `invalid FP32 value`},
		{"batch too large", "/v2/models/mlp-small/infer", in("input", "FP32", []int{65, 16}, zeros(65*16)), nil, 400, `batch size 65; model mlp-small takes 1 to 64`},
		{"malformed JSON", "/v2/models/mlp-small/infer", []byte(`{"inputs": [`), nil, 400, `malformed JSON request`},
		{"no inputs", "/v2/models/mlp-small/infer", []byte(`{"inputs": []}`), nil, 400, `request has no inputs`},
		{"shape claims more than sent", "/v2/models/mlp-small/infer", in("input", "FP32", []int{64, 16}, zeros(16)), nil, 400, `shape holds 1024 elements but data has 16`},
		{"shape the model does not take", "/v2/models/mlp-small/infer", in("input", "FP32", []int{1000000, 16}, zeros(16)), nil, 400, `batch size 1000000; model mlp-small takes 1 to 64`},
		{"truncated binary body", "/v2/models/mlp-small/infer", append([]byte(binHeader), make([]byte, 100)...),
			map[string]string{"Inference-Header-Content-Length": fmt.Sprint(len(binHeader))}, 400, `binary_data_size is 128 but only 100 bytes of binary data remain`},
		{"binary size disagrees with shape", "/v2/models/mlp-small/infer", append([]byte(strings.Replace(binHeader, "128", "120", 1)), make([]byte, 120)...),
			map[string]string{"Inference-Header-Content-Length": fmt.Sprint(len(binHeader))}, 400, `needs 128 bytes, binary_data_size is 120`},
		{"header length past the body", "/v2/models/mlp-small/infer", []byte(`{}`), map[string]string{"Inference-Header-Content-Length": "99"}, 400, `Inference-Header-Content-Length is 99`},
		{"oversized body", "/v2/models/mlp-small/infer", bytes.Repeat([]byte(" "), 2<<20), nil, 413, `larger than the 1048576-byte limit`},
		{"unknown model", "/v2/models/nope/infer", in("input", "FP32", []int{1, 16}, zeros(16)), nil, 404, `unknown model "nope"`},
		{"unknown version", "/v2/models/mlp-small/versions/9/infer", in("input", "FP32", []int{1, 16}, zeros(16)), nil, 404, `unknown version 9 of model "mlp-small"`},
		{"bad version", "/v2/models/mlp-small/versions/x/infer", in("input", "FP32", []int{1, 16}, zeros(16)), nil, 400, `invalid model version "x"`},
		{"unknown route", "/v3/whatever", nil, nil, 404, `no route for`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ts.do(t, "POST", c.path, c.body, c.header)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if e := decodeV2(t, r.body).Error; !strings.Contains(e, c.want) {
				t.Fatalf("error %q does not say %q", e, c.want)
			}
			good()
		})
	}
}

// TestE2EBadConfigKeepsOthersServing puts a model with a broken config.yaml
// next to good ones: it is UNAVAILABLE with a reason naming the file and the
// field, and the rest serve. The server is ready without strict readiness
// (with it, the default, it is not while a model is UNAVAILABLE).
func TestE2EBadConfigKeepsOthersServing(t *testing.T) {
	dir := demoRepo(t)
	b, _ := modelgen.MLPSmall().ONNX()
	writeFile(t, dir+"/broken/1/model.onnx", b)
	writeFile(t, dir+"/broken/config.yaml", []byte("batching:\n  max_queue_delay: soon\n"))
	writeFile(t, dir+"/garbage/1/model.onnx", []byte("not an onnx file"))
	ts := startServer(t, dir, func(c *config.Server) { c.StrictReady = false })
	r := ts.do(t, "GET", "/v2/models/broken/ready", nil, nil)
	if r.status != 503 || !strings.Contains(string(r.body), "config.yaml") || !strings.Contains(string(r.body), "max_queue_delay") {
		t.Fatalf("broken model: %d %s", r.status, r.body)
	}
	r = ts.do(t, "GET", "/v2/models/garbage/ready", nil, nil)
	if r.status != 503 || !strings.Contains(string(r.body), "UNAVAILABLE") {
		t.Fatalf("garbage model: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "GET", "/v2/models/mlp-small/ready", nil, nil); r.status != 200 {
		t.Fatalf("good model not ready: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "GET", "/v2/health/ready", nil, nil); r.status != 200 {
		t.Fatalf("server not ready: %d", r.status)
	}
}

// TestE2EConcurrentClients drives 64 concurrent clients at mixed models
// and batch sizes and checks every answer against the reference.
func TestE2EConcurrentClients(t *testing.T) {
	ts := startServer(t, demoRepo(t), nil)
	small, cnn := modelgen.MLPSmall(), modelgen.NewCNN(modelgen.CNNSeed)
	const clients, perClient = 64, 8
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perClient {
				batch := 1 + (c+i)%4
				model, input, width, shape, ref := "mlp-small", "input", 16, []int{batch, 16}, small.Forward
				if c%4 == 3 {
					model, input, width, shape, ref = "cnn", "image", 64, []int{batch, 1, 8, 8}, cnn.Forward
				}
				x := seqInput(batch, width, float32(c*100+i))
				if err := checkInfer(ts, model, input, shape, x, ref(x, batch)); err != nil {
					errs <- fmt.Errorf("client %d request %d: %w", c, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
