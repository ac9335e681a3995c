//go:build cgo

package onnx

import (
	"context"
	"encoding/binary"
	"log/slog"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/onnx/onnxtest"
)

// testLibrary is the library the tests use (see onnxtest).
func testLibrary(tb testing.TB) string { return onnxtest.LibraryPath(tb) }

var testDataDir = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/yalue/onnxruntime_go").Output()
	if err != nil {
		return "", err
	}
	return filepath.Join(strings.TrimSpace(string(out)), "test_data"), nil
})

// testModel returns the path of one of onnxruntime_go's test models.
func testModel(tb testing.TB, name string) string {
	tb.Helper()
	dir, err := testDataDir()
	if err != nil {
		tb.Skipf("cannot locate onnxruntime_go's test models: %v", err)
	}
	path := filepath.Join(dir, name)
	if !fileExists(path) {
		tb.Skipf("test model %s not found", path)
	}
	return path
}

// quiet discards the backend's logs.
var quiet = slog.New(slog.DiscardHandler)

// newTestBackend returns a backend on the test library, closed at cleanup.
func newTestBackend(tb testing.TB) *Backend {
	tb.Helper()
	b := New(Options{LibraryPath: testLibrary(tb), Logger: quiet})
	if err := b.Available(); err != nil {
		tb.Fatalf("Available: %v", err)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return b
}

// load loads a test model as instance 0 with one thread.
func load(tb testing.TB, b *Backend, file string) backends.Model {
	tb.Helper()
	m, err := loadErr(b, file)
	if err != nil {
		tb.Fatalf("Load %s: %v", file, err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

func loadErr(b *Backend, path string) (backends.Model, error) {
	return b.Load(context.Background(), backends.LoadSpec{
		Model: filepath.Base(path), Version: 1, Path: path, Threads: 1,
	})
}

// Little-endian encoders and decoders for building and checking tensors.

func f32Bytes(vs ...float32) []byte {
	b := make([]byte, 0, 4*len(vs))
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func f32s(b []byte) []float32 {
	vs := make([]float32, len(b)/4)
	for i := range vs {
		vs[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return vs
}

func f64Bytes(vs ...float64) []byte {
	b := make([]byte, 0, 8*len(vs))
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

func f64s(b []byte) []float64 {
	vs := make([]float64, len(b)/8)
	for i := range vs {
		vs[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return vs
}

func i64s(b []byte) []int64 {
	vs := make([]int64, len(b)/8)
	for i := range vs {
		vs[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return vs
}

func i16s(b []byte) []int16 {
	vs := make([]int16, len(b)/2)
	for i := range vs {
		vs[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return vs
}
