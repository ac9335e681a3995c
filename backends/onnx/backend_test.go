//go:build cgo

package onnx

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
)

func TestMissingLibrary(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope", "libonnxruntime.so.1")
	b := New(Options{LibraryPath: missing})
	if b.Name() != "onnxruntime" {
		t.Errorf("Name() = %q", b.Name())
	}
	err := b.Available()
	if err == nil || !strings.Contains(err.Error(), "make ort") || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Available() = %v, want an error naming %s and \"make ort\"", err, missing)
	}
	if _, err := b.Load(context.Background(), backends.LoadSpec{Path: "x.onnx"}); err == nil || !strings.Contains(err.Error(), "make ort") {
		t.Errorf("Load() = %v, want the \"make ort\" error", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
}

func TestNotALibrary(t *testing.T) {
	bogus := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	if err := os.WriteFile(bogus, []byte("not an ELF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := New(Options{LibraryPath: bogus})
	if err := b.Available(); err == nil || !strings.Contains(err.Error(), bogus) {
		t.Fatalf("Available() = %v, want an error naming %s", err, bogus)
	}
}

func TestDefaultLibraryPath(t *testing.T) {
	t.Setenv(LibraryEnv, "/opt/ort/libonnxruntime.so.1")
	if got := DefaultLibraryPath(); got != "/opt/ort/libonnxruntime.so.1" {
		t.Errorf("with %s set: %q", LibraryEnv, got)
	}
	t.Setenv(LibraryEnv, "")
	dir := t.TempDir()
	t.Chdir(dir)
	want := filepath.Join(dir, relLibraryPath)
	if got := DefaultLibraryPath(); got != want {
		t.Errorf("nothing found: %q, want %q", got, want)
	}
	if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(want, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := DefaultLibraryPath(); got != want {
		t.Errorf("found under cwd: %q, want %q", got, want)
	}
}

func TestAvailableTwiceAndShared(t *testing.T) {
	b1 := newTestBackend(t)
	if err := b1.Available(); err != nil {
		t.Fatalf("second Available: %v", err)
	}
	b2 := New(Options{LibraryPath: testLibrary(t), Logger: quiet})
	if err := b2.Available(); err != nil {
		t.Fatalf("second backend: %v", err)
	}
	if err := b2.Close(); err != nil {
		t.Fatalf("closing second backend: %v", err)
	}
	// b1 still holds the environment.
	load(t, b1, testModel(t, "example_dynamic_axes.onnx"))
}

func TestCloseClosesModels(t *testing.T) {
	b := New(Options{LibraryPath: testLibrary(t), Logger: quiet})
	m, err := loadErr(b, testModel(t, "example_dynamic_axes.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := m.Run(context.Background(), batchOf(1)); err == nil {
		t.Error("Run after the backend's Close succeeded")
	}
	if err := m.Close(); err != nil {
		t.Errorf("model Close after backend Close: %v", err)
	}
	if _, err := loadErr(b, testModel(t, "example_dynamic_axes.onnx")); err == nil {
		t.Error("Load after Close succeeded")
	}
	if err := b.Available(); err == nil {
		t.Error("Available after Close succeeded")
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// A new backend creates the environment again.
	load(t, newTestBackend(t), testModel(t, "example_dynamic_axes.onnx"))
}

func TestRunAfterClose(t *testing.T) {
	b := newTestBackend(t)
	m := load(t, b, testModel(t, "example_dynamic_axes.onnx"))
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, err := m.Run(context.Background(), batchOf(1))
	if err == nil || !strings.Contains(err.Error(), "after close") {
		t.Errorf("Run after Close = %v", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	b := newTestBackend(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.Load(ctx, backends.LoadSpec{Model: "m", Path: testModel(t, "example_dynamic_axes.onnx")})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Load with a cancelled context = %v", err)
	}
	for _, c := range []struct{ name, path, want string }{
		{"missing file", filepath.Join(t.TempDir(), "missing.onnx"), "missing.onnx"},
		{"not onnx", writeModel(t, "junk.onnx", []byte("junk")), "junk.onnx"},
		{"sequence input", sequenceInputModel(t), `input "seq" is a sequence, not a tensor`},
		{"sequence output only", sequenceOutputModel(t), "none of the model's 1 outputs is a tensor"},
	} {
		_, err := loadErr(b, c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "instance 0") {
			t.Errorf("%s: Load = %v, want an error naming the instance and containing %q", c.name, err, c.want)
		}
	}
}

func TestLoadOptions(t *testing.T) {
	b := newTestBackend(t)
	var logs bytes.Buffer
	spec := backends.LoadSpec{
		Model: "dyn", Version: 3, Instance: 2, Threads: 2,
		Path:   testModel(t, "example_dynamic_axes.onnx"),
		Device: backends.Device{Kind: backends.CPU, Cores: []int{0, 1}},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	m, err := b.Load(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out, err := m.Run(context.Background(), batchOf(3))
	if err != nil {
		t.Fatal(err)
	}
	checkSums(t, out, 3)
	if !strings.Contains(logs.String(), "threads=2") {
		t.Errorf("debug log does not show the thread count: %s", logs.String())
	}

	// GPU instances: see TestGPUInstance.
}

// Instances load and run side by side, each on its own goroutine, as the
// runtime's workers do.
func TestConcurrentInstances(t *testing.T) {
	b := newTestBackend(t)
	path := testModel(t, "example_dynamic_axes.onnx")
	errs := make(chan error, 4)
	for i := range 4 {
		go func() {
			m, err := b.Load(context.Background(), backends.LoadSpec{Model: "dyn", Path: path, Instance: i})
			if err != nil {
				errs <- err
				return
			}
			defer m.Close()
			for n := range 20 {
				out, err := m.Run(context.Background(), batchOf(n%5+1))
				if err == nil && len(out[0].Data) != 4*(n%5+1) {
					err = errors.New("wrong output size")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
