package onnx

import (
	"log/slog"
	"os"
	"path/filepath"

	"github.com/tiffin-ml/tiffin/backends"
)

// BackendName is the name model configurations use for this backend.
const BackendName = "onnxruntime"

// Describe says that the backend loads model.onnx, answers to Triton's
// platform name onnxruntime_onnx, and comes first in auto order: it is the
// fastest engine whenever its library loads.
func (b *Backend) Describe() backends.Description {
	return backends.Description{Platforms: []string{"onnxruntime_onnx"}, ModelFiles: []string{"model.onnx"}, AutoOrder: 10,
		NoNULInStrings: true}
}

// LibraryEnv names the environment variable that overrides where the ONNX
// Runtime shared library is.
const LibraryEnv = "TIFFIN_ORT_LIBRARY"

// relLibraryPath is where `make ort` puts the library, relative to the
// repository (or install) root.
const relLibraryPath = "third_party/onnxruntime/lib/libonnxruntime.so.1"

// Options configures the backend.
type Options struct {
	// LibraryPath is the ONNX Runtime shared library; empty means
	// DefaultLibraryPath().
	LibraryPath string
	// Logger receives load-time warnings; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultLibraryPath returns $TIFFIN_ORT_LIBRARY when set. Otherwise it
// returns third_party/onnxruntime/lib/libonnxruntime.so.1 under the
// executable's parent directory or under the current directory, whichever
// exists first, and the current-directory one (made absolute) when neither
// does.
func DefaultLibraryPath() string {
	if p := os.Getenv(LibraryEnv); p != "" {
		return p
	}
	fromCwd, err := filepath.Abs(relLibraryPath)
	if err != nil {
		fromCwd = relLibraryPath
	}
	var candidates []string
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), "..", relLibraryPath))
	}
	candidates = append(candidates, fromCwd)
	for _, c := range candidates {
		if fileExists(c) {
			return c
		}
	}
	return fromCwd
}

func fileExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir()
}
