package main

import (
	"bytes"
	"encoding/json"
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

// tiffin devices shows the placement a device file gives, as serve
// applies it: two instances of every model where the file says so.
func TestDevicesAppliesTheDeviceFile(t *testing.T) {
	devices := filepath.Join(t.TempDir(), "devices.yaml")
	writeFile(t, devices, []byte("cpu:\n  count: 2\n"))
	repo := demoRepo(t)
	count := func(args ...string) int {
		var out, errs bytes.Buffer
		if code := run(append([]string{"devices", "--json", "--model-repository", repo}, args...), &out, &errs); code != 0 {
			t.Fatalf("devices %v: exit %d: %s", args, code, errs.String())
		}
		var rep devicesReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		return len(rep.Placement)
	}
	plain, with := count(), count("--devices", devices)
	if with != 2*plain {
		t.Fatalf("%d instances with the device file, %d without: want twice as many", with, plain)
	}
}
