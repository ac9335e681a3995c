package main

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/backendtest"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

// TestNewBackendIsOneLine registers a throwaway backend the way a real one
// is registered, with one line in registeredBackends, and serves a model
// through it: auto finds it by its model file, config.yaml may name it or
// its platform, and the transports report its platform. Nothing else in
// the server was told of it. It needs no native library.
func TestNewBackendIsOneLine(t *testing.T) {
	saved := registeredBackends
	t.Cleanup(func() { registeredBackends = saved })

	// The one line.
	registeredBackends = append(registeredBackends, func(config.Server, *slog.Logger) backends.Backend {
		return backendtest.New(backendtest.Options{Name: "throwaway", ModelFile: "model.throwaway"})
	})

	repo := t.TempDir()
	for model, cfg := range map[string]string{"by-file": "", "by-name": "backend: throwaway\n", "by-platform": "backend: " + backendtest.Platform + "\n"} {
		dir := filepath.Join(repo, model, "1")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "model.throwaway"), []byte("weights"), 0o644); err != nil {
			t.Fatal(err)
		}
		if cfg != "" {
			if err := os.WriteFile(filepath.Join(repo, model, "config.yaml"), []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	ts := startServerWith(t, repo, filepath.Join(t.TempDir(), "no-ort.so"), func(c *config.Server) {
		c.Jobs.Enabled = false
		c.StrictReady = true
	})
	if r := ts.do(t, "GET", "/v2/health/ready", nil, nil); r.status != 200 {
		t.Fatalf("ready: %d %s", r.status, r.body)
	}
	for _, model := range []string{"by-file", "by-name", "by-platform"} {
		r := ts.do(t, "GET", "/v2/models/"+model, nil, nil)
		var md struct{ Platform string }
		if err := json.Unmarshal(r.body, &md); err != nil || r.status != 200 || md.Platform != backendtest.Platform {
			t.Fatalf("%s metadata: %d %s, want platform %s", model, r.status, r.body, backendtest.Platform)
		}
		r = ts.postJSON(t, "/v2/models/"+model+"/infer", map[string]any{"inputs": []map[string]any{
			{"name": "x", "shape": []int{2, 4}, "datatype": "FP32", "data": []float32{1, 2, 3, 4, 5, 6, 7, 8}}}})
		resp := decodeV2(t, r.body)
		if r.status != 200 || len(resp.Outputs) != 1 || resp.Outputs[0].Name != "y" ||
			!slices.Equal(floats(t, resp.Outputs[0].Data), []float64{1, 2, 3, 4, 5, 6, 7, 8}) {
			t.Fatalf("%s infer: %d %s", model, r.status, r.body)
		}
	}
}
