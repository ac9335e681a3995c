package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/bench"
	"github.com/tiffin-ml/tiffin/runtime"
)

// The block written is "recommended" only when it beats the model as
// configured; otherwise the file says to keep the config.
func TestTuneRecommendationSaysKeep(t *testing.T) {
	res := func(rows int64) bench.Result {
		return bench.Result{Rows: rows, Elapsed: time.Second, P99: time.Millisecond}
	}
	best := map[string]bench.TuneRow{"cpu": {Group: "cpu", MaxBatch: 16, Window: time.Millisecond, Result: res(900)}}
	for _, c := range []struct {
		configured int64
		want       string
	}{{1000, "keep it"}, {500, "# recommended for cpu instances"}} {
		rows := []bench.TuneRow{{Group: "cpu", AsConfigured: true, MaxBatch: 64, Result: res(c.configured)}, best["cpu"]}
		path := filepath.Join(t.TempDir(), "out.yaml")
		if err := writeRecommendation(path, &bytes.Buffer{}, []string{"cpu"}, rows, best, 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(b), c.want) {
			t.Fatalf("as configured %d rows/s against 900: %q (%v), want %q", c.configured, b, err, c.want)
		}
	}
}

// --device gpu on a host without one says so, rather than blaming a
// config.yaml instance group that tune itself had set to gpu.
func TestTuneGPUWithoutOne(t *testing.T) {
	dev, err := runtime.DiscoverDevices(slog.New(slog.DiscardHandler))
	if err != nil || len(dev.GPU.Devices) > 0 {
		t.Skip("this host has a GPU, or no inventory")
	}
	var stderr bytes.Buffer
	code := run([]string{"tune", "--model-repository", t.TempDir(), "--model", "m", "--device", "gpu"}, &bytes.Buffer{}, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "--device gpu: this host has no GPU") {
		t.Fatalf("exit %d: %q", code, stderr.String())
	}
}
