package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
	"github.com/tiffin-ml/tiffin/backends/onnx/onnxtest"
	"github.com/tiffin-ml/tiffin/runtime/config"
	httpt "github.com/tiffin-ml/tiffin/transport/http"
)

// testServer is a real tiffin serving a model repository on a free
// loopback port, stopped when the test ends.
type testServer struct {
	srv  *httpt.Server
	base string
	stop func()
	errc chan error
}

// requireORT skips a test when the ONNX Runtime library is not fetched,
// and with -short: the tests that serve through it are the slow e2e ones.
func requireORT(t *testing.T) string {
	t.Helper()
	skipShort(t)
	return onnxtest.LibraryPath(t)
}

// skipShort skips an end-to-end test with -short, so `go test -short
// ./...` is a fast edit loop; CI runs everything.
func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
}

func demoRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := modelgen.WriteRepository(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func startServer(t *testing.T, repo string, edit func(*config.Server)) *testServer {
	t.Helper()
	return startServerWith(t, repo, requireORT(t), edit)
}

// startServerWith starts a server whose ONNX Runtime library is lib,
// whether or not it exists there.
func startServerWith(t *testing.T, repo, lib string, edit func(*config.Server)) *testServer {
	t.Helper()
	cfg := config.DefaultServer()
	cfg.ModelRepository = repo
	cfg.Host = "127.0.0.1"
	cfg.HTTPPort = 0
	cfg.GRPCPort = 0 // a free port; gRPC tests choose theirs in edit
	cfg.ORTLibrary = lib
	cfg.ShutdownTimeout = 10 * time.Second
	if edit != nil {
		edit(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *httpt.Server, 1)
	ts := &testServer{errc: make(chan error, 1)}
	go func() { ts.errc <- serve(ctx, cfg, log, ready) }()
	select {
	case srv := <-ready:
		ts.srv, ts.base = srv, "http://"+srv.Addr()
	case err := <-ts.errc:
		cancel()
		t.Fatalf("server did not start: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("server did not start within 60s")
	}
	ts.stop = func() {
		cancel()
		if err := <-ts.errc; err != nil {
			t.Errorf("server stopped with %v", err)
		}
	}
	t.Cleanup(func() {
		if ts.stop != nil {
			ts.stop()
		}
	})
	return ts
}

// shutdown stops the server now rather than at cleanup.
func (ts *testServer) shutdown() {
	ts.stop()
	ts.stop = nil
}

type httpResult struct {
	status int
	header http.Header
	body   []byte
}

func (ts *testServer) do(t *testing.T, method, path string, body []byte, header map[string]string) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, ts.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return httpResult{status: resp.StatusCode, header: resp.Header, body: b}
}

func (ts *testServer) postJSON(t *testing.T, path string, v any) httpResult {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return ts.do(t, "POST", path, b, map[string]string{"Content-Type": "application/json"})
}

// v2Response is the JSON part of an inference response.
type v2Response struct {
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	ID           string `json:"id"`
	Outputs      []struct {
		Name       string            `json:"name"`
		Datatype   string            `json:"datatype"`
		Shape      []int64           `json:"shape"`
		Data       []json.RawMessage `json:"data"`
		Parameters map[string]any    `json:"parameters"`
	} `json:"outputs"`
	Error string `json:"error"`
}

func decodeV2(t *testing.T, b []byte) v2Response {
	t.Helper()
	var r v2Response
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("response is not V2 JSON: %v: %s", err, b)
	}
	return r
}

func floats(t *testing.T, raw []json.RawMessage) []float64 {
	t.Helper()
	out := make([]float64, len(raw))
	for i, r := range raw {
		f, err := strconv.ParseFloat(string(r), 64)
		if err != nil {
			t.Fatalf("element %d: %s is not a number", i, r)
		}
		out[i] = f
	}
	return out
}

func assertClose(t *testing.T, what string, got []float64, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-float64(want[i])) > tol {
			t.Fatalf("%s[%d] = %v, want %v (tolerance %g)", what, i, got[i], want[i], tol)
		}
	}
}

// seqInput makes batch rows of width deterministic float inputs.
func seqInput(batch, width int, seed float32) []float32 {
	x := make([]float32, batch*width)
	for i := range x {
		x[i] = float32(math.Sin(float64(seed) + float64(i)*0.37))
	}
	return x
}

func f32Bytes(x []float32) []byte {
	b := make([]byte, 0, 4*len(x))
	for _, v := range x {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func bytesF32(b []byte) []float64 {
	out := make([]float64, len(b)/4)
	for i := range out {
		out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
	}
	return out
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkInfer is a goroutine-safe JSON inference with its check; it returns
// errors instead of failing the test from another goroutine.
func checkInfer(ts *testServer, model, input string, shape []int, x, want []float32) error {
	return checkInferTol(ts, model, input, shape, x, want, 1e-5)
}

// httpGet returns a GET's status code.
func httpGet(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// checkInferTol is checkInfer with a tolerance.
func checkInferTol(ts *testServer, model, input string, shape []int, x, want []float32, tol float64) error {
	body, err := json.Marshal(map[string]any{"inputs": []map[string]any{
		{"name": input, "datatype": "FP32", "shape": shape, "data": x}}})
	if err != nil {
		return err
	}
	resp, err := http.Post(ts.base+"/v2/models/"+model+"/infer", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	var r v2Response
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	if len(r.Outputs) != 1 || len(r.Outputs[0].Data) != len(want) {
		return fmt.Errorf("unexpected outputs: %s", b)
	}
	for i, raw := range r.Outputs[0].Data {
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.Abs(f-float64(want[i])) > tol {
			return fmt.Errorf("element %d = %s, want %v", i, raw, want[i])
		}
	}
	return nil
}
