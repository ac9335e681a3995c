package main

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/runtime/config"
)

// TestE2EDeviceFile serves the demo repository with a host device file:
// its cpu class sets the instance count and batch window of every model,
// and a model's own entry wins.
func TestE2EDeviceFile(t *testing.T) {
	devices := filepath.Join(t.TempDir(), "devices.yaml")
	writeFile(t, devices, []byte("cpu:\n  count: 2\n  batching: {max_queue_delay: 0s}\nmodels:\n  cnn:\n    cpu: {count: 1, batching: {max_queue_delay: 3ms}}\n"))
	ts := startServer(t, demoRepo(t), func(c *config.Server) { c.DevicesFile = devices })
	for model, want := range map[string][]string{
		"mlp-small": {`"count":2`, `"max_queue_delay_microseconds":0`},
		"cnn":       {`"count":1`, `"max_queue_delay_microseconds":3000`},
	} {
		r := ts.do(t, "GET", "/v2/models/"+model+"/config", nil, nil)
		body := strings.ReplaceAll(string(r.body), " ", "")
		for _, w := range want {
			if r.status != 200 || !strings.Contains(body, w) {
				t.Fatalf("%s config lacks %s: %d %s", model, w, r.status, r.body)
			}
		}
	}
	writeFile(t, devices, []byte("cpu:\n  count: -3\n"))
	cfg := config.DefaultServer()
	cfg.ModelRepository, cfg.DevicesFile = t.TempDir(), devices
	err := serve(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err == nil || !strings.Contains(err.Error(), "cpu.count") {
		t.Fatalf("a bad device file: %v", err)
	}
}
