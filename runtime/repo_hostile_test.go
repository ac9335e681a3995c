//go:build linux

package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/backendtest"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

// Files a repository writer can make that would hold a load (and loadMu)
// for good, or load a version twice, are refused or passed over.
func TestRepositoryOddFiles(t *testing.T) {
	repo := t.TempDir()
	if err := backendtest.WriteModel(repo, "m", "", 1); err != nil {
		t.Fatal(err)
	}
	// "01" and "+1" are version 1 again: not versions.
	for _, odd := range []string{"01", "+1"} {
		if err := os.MkdirAll(filepath.Join(repo, "m", odd), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	md, err := ScanModel(repo, "m")
	if err != nil || len(md.Versions) != 1 || filepath.Base(md.Versions[0].Dir) != "1" {
		t.Fatalf("versions %+v, %v; want only folder 1", md.Versions, err)
	}

	// A model file that is a FIFO is refused, not opened.
	dir := t.TempDir()
	fifo := filepath.Join(dir, "model.onnx")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	b := backendtest.New(backendtest.Options{})
	if _, err := modelFile(b, dir, "model.onnx"); err == nil || !strings.Contains(err.Error(), "is not a regular file") {
		t.Errorf("a FIFO model file: %v", err)
	}
	// So is a config file that is one.
	if _, err := config.LoadModel(fifo); err == nil || !strings.Contains(err.Error(), "is not a regular file") {
		t.Errorf("a FIFO config.yaml: %v", err)
	}
	// And a warmup file.
	tensor := backends.Tensor{Name: "x", DataType: backends.FP32, Shape: []int64{4}}
	if err := readWarmupFile(&tensor, fifo, 4); err == nil || !strings.Contains(err.Error(), "is not a regular file") {
		t.Errorf("a FIFO warmup file: %v", err)
	}
}
