// Package transporttest starts what the front ends' handler tests serve:
// a real runtime.Manager over the fake backend (backends/backendtest), so
// the tests need no native library and run with CGO_ENABLED=0. Tests
// only import it.
package transporttest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/backendtest"
	"github.com/tiffin-ml/tiffin/runtime"
)

// Quiet discards the log.
var Quiet = slog.New(slog.DiscardHandler)

// Manager writes a repository with one model per entry of models (its
// name, and its config.yaml, "" for none), each at version 1, loads it
// with a Manager over a fresh fake backend, and closes the Manager when
// the test ends. A model whose config fails loads as UNAVAILABLE, as in
// the server.
func Manager(t testing.TB, models map[string]string) (*runtime.Manager, *backendtest.Backend) {
	t.Helper()
	repo := t.TempDir()
	for name, config := range models {
		if err := backendtest.WriteModel(repo, name, config, 1); err != nil {
			t.Fatal(err)
		}
	}
	fake := backendtest.New(backendtest.Options{})
	m := runtime.NewManager(runtime.ManagerOptions{Repository: repo, Backends: backends.NewRegistry(fake),
		Inventory: runtime.Inventory{Cores: [][]int{{0}}, Nodes: []int{0}}, Logger: Quiet})
	if err := m.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	StopAtCleanup(t, "close manager", m.Close)
	return m, fake
}

// StopAtCleanup calls stop with a 5 s deadline when the test ends and
// fails the test if it errs. Cleanups run last registered first, so a
// server registered after its Manager stops before the Manager closes.
func StopAtCleanup(t testing.TB, what string, stop func(context.Context) error) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stop(ctx); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	})
}
