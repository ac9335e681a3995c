package runtime

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/backendtest"
)

// Close during a model load whose warmup is long (an API reload when
// SIGTERM comes) must not wait for the whole warmup: the warmup stops at
// its next run, the load fails as shutting down, and Close keeps to its
// own deadline. Before, Close waited on loadMu for the load to end (a
// server told --shutdown-timeout 2s took 31 s to exit, then exited 1).
func TestCloseCutsShortALoadInWarmup(t *testing.T) {
	repo := t.TempDir()
	const cfg = `max_batch_size: 8
warmup:
  - name: slow
    batch_size: 1
    count: 1000
    inputs:
      x: {data_type: FP32, dims: [4], data: zero}
`
	if err := backendtest.WriteModel(repo, "m", cfg, 1); err != nil {
		t.Fatal(err)
	}
	b := backendtest.New(backendtest.Options{})
	b.SetLatency(10 * time.Millisecond) // the warmup: 1000 runs, 10 s
	m := NewManager(ManagerOptions{Repository: repo, Backends: backends.NewRegistry(b),
		Inventory: Inventory{Cores: [][]int{{0}}, Nodes: []int{0}}, Logger: slog.New(slog.DiscardHandler)})
	loaded := make(chan error, 1)
	go func() { loaded <- m.Load(context.Background(), "m") }()
	for deadline := time.Now().Add(5 * time.Second); b.Runs() < 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the warmup did not start")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	err := m.Close(ctx)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Close took %v during a load's warmup; want it within its 1 s deadline", took)
	}
	if err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-loaded:
		if !errors.Is(err, ErrShuttingDown) && KindOf(err) != KindUnavailable {
			t.Errorf("the load cut short by Close: %v; want shutting down", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the load went on after Close")
	}
	if runs := b.Runs(); runs > 500 {
		t.Errorf("the warmup ran %d of its 1000 runs", runs)
	}
}
