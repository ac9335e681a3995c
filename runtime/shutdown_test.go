package runtime

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/backendtest"
)

// slowWarmup is a config whose warmup takes 10 s (1,000 runs of 10 ms
// with the fake's latency set by startLoading).
const slowWarmup = `max_batch_size: 8
warmup:
  - name: slow
    batch_size: 1
    count: 1000
    inputs:
      x: {data_type: FP32, dims: [4], data: zero}
`

// warmingUp starts a Load of model "a", whose warmup takes 10 s, in a
// repository that also holds the models named in others, and returns once
// the warmup runs: an API reload when SIGTERM comes. loaded receives the
// load's error.
func warmingUp(t *testing.T, others ...string) (m *Manager, b *backendtest.Backend, loaded <-chan error) {
	t.Helper()
	repo := t.TempDir()
	if err := backendtest.WriteModel(repo, "a", slowWarmup, 1); err != nil {
		t.Fatal(err)
	}
	for _, name := range others {
		if err := backendtest.WriteModel(repo, name, "", 1); err != nil {
			t.Fatal(err)
		}
	}
	return startLoading(t, repo)
}

// startLoading starts a Load of repo's model "a" with a fake backend whose
// runs take 10 ms, and returns once its warmup has run three times.
func startLoading(t *testing.T, repo string) (m *Manager, b *backendtest.Backend, loaded <-chan error) {
	t.Helper()
	b = backendtest.New(backendtest.Options{})
	b.SetLatency(10 * time.Millisecond)
	m = NewManager(ManagerOptions{Repository: repo, Backends: backends.NewRegistry(b),
		Inventory: Inventory{Cores: [][]int{{0}}, Nodes: []int{0}}, Logger: slog.New(slog.DiscardHandler)})
	done := make(chan error, 1)
	go func() { done <- m.Load(context.Background(), "a") }()
	for deadline := time.Now().Add(5 * time.Second); b.Runs() < 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the warmup did not start")
		}
	}
	return m, b, done
}

// Close during a model load whose warmup is long must not wait for the
// whole warmup: the warmup stops at its next run, the load fails as
// shutting down, and Close keeps to its own deadline. Before, Close waited
// on loadMu for the load to end (a server told --shutdown-timeout 2s took
// 31 s to exit, then exited 1).
func TestCloseCutsShortALoadInWarmup(t *testing.T) {
	m, b, loaded := warmingUp(t)
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

// A load that waits for loadMu while shutdown begins is refused once it
// gets the lock, rather than loading its model (ONNX Runtime's session
// creation, seconds for a large model) only to have its warmup skipped
// and Close wait for all of it.
func TestCloseRefusesALoadQueuedBehindAnother(t *testing.T) {
	m, b, loadedA := warmingUp(t, "b")
	loadedB := make(chan error, 1)
	go func() { loadedB <- m.Load(context.Background(), "b") }() // queued on loadMu behind a
	time.Sleep(50 * time.Millisecond)
	loadsBefore := b.Loads()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-loadedA; !errors.Is(err, ErrShuttingDown) {
		t.Errorf("the load in warmup: %v; want shutting down", err)
	}
	if err := <-loadedB; !errors.Is(err, ErrShuttingDown) {
		t.Errorf("the queued load: %v; want shutting down", err)
	}
	if got := b.Loads(); got != loadsBefore {
		t.Errorf("the backend loaded %d more instances after shutdown began", got-loadsBefore)
	}
}

// Polling stops when shutdown begins (a --shutdown-delay), rather than
// trying, and logging, a load of each changed model every period.
func TestPollStopsWhenShutdownBegins(t *testing.T) {
	m := NewManager(ManagerOptions{Repository: t.TempDir(), Backends: backends.NewRegistry(backendtest.New(backendtest.Options{})),
		Inventory: Inventory{Cores: [][]int{{0}}, Nodes: []int{0}}, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	polled := make(chan struct{})
	go func() { m.Poll(ctx, time.Millisecond); close(polled) }()
	m.BeginShutdown()
	select {
	case <-polled:
	case <-time.After(5 * time.Second):
		t.Fatal("Poll went on after BeginShutdown")
	}
}

// A load cut short by shutdown still reports another version's own
// failure: before, the whole error became "server is shutting down", and
// the reason version 1 could not load was only in the log.
func TestShutdownKeepsAnotherVersionsLoadError(t *testing.T) {
	repo := t.TempDir()
	if err := backendtest.WriteModel(repo, "a", slowWarmup+"version_policy: {all: true}\n", 1, 2); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(repo, "a", "1", backendtest.ModelFile)); err != nil {
		t.Fatal(err)
	}
	m, _, loaded := startLoading(t, repo) // version 1 fails, version 2 warms up
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	err := <-loaded
	if !errors.Is(err, ErrShuttingDown) || KindOf(err) != KindUnavailable {
		t.Errorf("the load: %v (kind %v); want it to wrap shutting down, unavailable", err, KindOf(err))
	}
	if err == nil || !strings.Contains(err.Error(), "version 1") {
		t.Errorf("the load's error %q hides why version 1 failed", err)
	}
}
