package onnx

import (
	"testing"

	"github.com/tiffin-ml/tiffin/backends/onnx/onnxtest"
)

// onnxtest repeats two constants so that it need not import this package;
// they must agree.
func TestOnnxtestAgrees(t *testing.T) {
	if onnxtest.LibraryEnv != LibraryEnv || onnxtest.RelLibraryPath != relLibraryPath {
		t.Fatalf("onnxtest has %s and %s, onnx %s and %s", onnxtest.LibraryEnv, onnxtest.RelLibraryPath, LibraryEnv, relLibraryPath)
	}
}
