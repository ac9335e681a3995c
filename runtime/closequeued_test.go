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

// A load that waits for loadMu while shutdown begins is refused once it
// gets the lock, rather than loading its model (ONNX Runtime's session
// creation, seconds for a large model) only to have its warmup skipped
// and Close wait for all of it.
func TestCloseRefusesALoadQueuedBehindAnother(t *testing.T) {
	repo := t.TempDir()
	const slow = `max_batch_size: 8
warmup:
  - name: slow
    batch_size: 1
    count: 1000
    inputs:
      x: {data_type: FP32, dims: [4], data: zero}
`
	if err := backendtest.WriteModel(repo, "a", slow, 1); err != nil {
		t.Fatal(err)
	}
	if err := backendtest.WriteModel(repo, "b", "", 1); err != nil {
		t.Fatal(err)
	}
	b := backendtest.New(backendtest.Options{})
	b.SetLatency(10 * time.Millisecond)
	m := NewManager(ManagerOptions{Repository: repo, Backends: backends.NewRegistry(b),
		Inventory: Inventory{Cores: [][]int{{0}}, Nodes: []int{0}}, Logger: slog.New(slog.DiscardHandler)})
	loadedA := make(chan error, 1)
	go func() { loadedA <- m.Load(context.Background(), "a") }()
	for deadline := time.Now().Add(5 * time.Second); b.Runs() < 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the warmup did not start")
		}
	}
	loadedB := make(chan error, 1)
	go func() { loadedB <- m.Load(context.Background(), "b") }() // queued on loadMu behind a
	time.Sleep(50 * time.Millisecond)
	loadsBefore := b.Loads()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	<-loadedA
	if err := <-loadedB; !errors.Is(err, ErrShuttingDown) {
		t.Errorf("the queued load: %v; want shutting down", err)
	}
	if got := b.Loads(); got != loadsBefore {
		t.Errorf("the backend loaded %d more instances after shutdown began", got-loadsBefore)
	}
}
