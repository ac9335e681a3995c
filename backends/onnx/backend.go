//go:build cgo

package onnx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tiffin-ml/tiffin/backends"
)

// env is the process-wide ORT environment. onnxruntime_go keeps it in package
// globals, so every Backend of the process shares it.
var env struct {
	mu   sync.Mutex
	path string // the library it was created from
	refs int    // Backends holding it
}

// errClosed is returned by a Backend after Close.
var errClosed = errors.New("onnxruntime backend is closed")

// Backend is the ONNX Runtime backend. It is safe for concurrent use.
type Backend struct {
	path   string // library path as configured
	logger *slog.Logger

	// mu is held for reading by loads in progress and for writing by init
	// and Close, so Close never destroys the environment under a load.
	mu     sync.RWMutex
	ready  bool // this Backend holds a reference on env
	closed bool

	modelsMu sync.Mutex
	models   map[*Model]struct{} // open instances, closed by Close
}

var _ backends.Backend = (*Backend)(nil)

// New returns the backend. Nothing is loaded until Available or Load.
func New(opts Options) *Backend {
	b := &Backend{path: opts.LibraryPath, logger: opts.Logger, models: make(map[*Model]struct{})}
	if b.path == "" {
		b.path = DefaultLibraryPath()
	}
	if b.logger == nil {
		b.logger = slog.Default()
	}
	return b
}

// Name returns "onnxruntime".
func (b *Backend) Name() string { return BackendName }

// Available loads the ONNX Runtime library and creates the environment if
// that has not happened yet, and says why it cannot when it cannot.
func (b *Backend) Available() error { return b.init() }

// init makes sure this Backend holds a reference on the environment. A
// failure is not remembered: a later call tries again.
func (b *Backend) init() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errClosed
	}
	if b.ready {
		return nil
	}
	path, err := filepath.Abs(b.path)
	if err != nil {
		return fmt.Errorf("onnxruntime library path %q: %w", b.path, err)
	}
	if !fileExists(path) {
		return fmt.Errorf("onnxruntime library not found at %s (run \"make ort\" to fetch it, or set %s / --ort-library)", path, LibraryEnv)
	}
	first, err := acquireEnv(path)
	if err != nil {
		return err
	}
	if first {
		b.logger.Info("onnxruntime loaded", "version", ort.GetVersion(), "library", path)
	}
	b.ready = true
	return nil
}

// acquireEnv takes a reference on the environment, creating it from the
// library at path (absolute) when there is none. It reports whether it
// created it.
func acquireEnv(path string) (bool, error) {
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.refs > 0 {
		if env.path != path {
			return false, fmt.Errorf("onnxruntime is already loaded from %s; cannot also load %s", env.path, path)
		}
		env.refs++
		return false, nil
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelWarning()); err != nil {
		return false, fmt.Errorf("initializing onnxruntime from %s (it must be a release onnxruntime_go supports): %w", path, err)
	}
	env.path, env.refs = path, 1
	return true, nil
}

// releaseEnv drops a reference, destroying the environment with the last.
func releaseEnv() error {
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.refs--; env.refs > 0 {
		return nil
	}
	env.path = ""
	if err := ort.DestroyEnvironment(); err != nil {
		return fmt.Errorf("destroying onnxruntime environment: %w", err)
	}
	return nil
}

// Load creates one ORT session for spec.Path, configured for spec's device
// and thread count.
func (b *Backend) Load(ctx context.Context, spec backends.LoadSpec) (backends.Model, error) {
	if err := b.init(); err != nil {
		return nil, err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return nil, errClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", instanceName(spec), err)
	}
	logger := spec.Logger
	if logger == nil {
		logger = b.logger
	}
	m, err := newModel(spec, logger)
	if err != nil {
		return nil, err
	}
	m.backend = b
	b.modelsMu.Lock()
	b.models[m] = struct{}{}
	b.modelsMu.Unlock()
	return m, nil
}

// forget drops m from the open instances.
func (b *Backend) forget(m *Model) {
	b.modelsMu.Lock()
	delete(b.models, m)
	b.modelsMu.Unlock()
}

// Close closes any instance still open and releases the ORT environment
// (destroying it when no other Backend uses it). Later calls do nothing;
// Available and Load fail afterwards.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	ready := b.ready
	b.ready = false
	b.mu.Unlock()

	b.modelsMu.Lock()
	open := make([]*Model, 0, len(b.models))
	for m := range b.models {
		open = append(open, m)
	}
	b.modelsMu.Unlock()

	var errs []error
	for _, m := range open {
		errs = append(errs, m.Close())
	}
	if ready {
		errs = append(errs, releaseEnv())
	}
	return errors.Join(errs...)
}
