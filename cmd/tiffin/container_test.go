package main

import (
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/tiffin-ml/tiffin/runtime/config"
)

// TestStartOrder checks the lifecycle the container builds: tracing first
// (stopped last, so it flushes everything), then backends, the model
// manager, the job queue, gRPC, and HTTP last (it accepts traffic only once
// the rest is up, and stops first).
func TestStartOrder(t *testing.T) {
	cfg := config.DefaultServer()
	cfg.ModelRepository = t.TempDir()
	cfg.Jobs = config.DefaultJobs()
	cfg.Jobs.DataDir = t.TempDir()
	c, err := newContainer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := c.Invoke(func(lc *lifecycle) {
		for _, h := range lc.hooks {
			names = append(names, h.name)
		}
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"tracing", "backends", "model manager", "jobs", "grpc", "http"}
	last := -1
	for _, w := range want {
		i := slices.Index(names, w)
		if i < 0 || i < last {
			t.Fatalf("hooks in order %v; want %v in that order", names, want)
		}
		last = i
	}
}
