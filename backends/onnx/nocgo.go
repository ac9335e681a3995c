//go:build !cgo

package onnx

import (
	"context"
	"errors"

	"github.com/tiffin-ml/tiffin/backends"
)

// errNoCgo is what the backend says in a build without cgo: onnxruntime_go
// needs cgo to load the ONNX Runtime library.
var errNoCgo = errors.New("onnxruntime backend is not available in a build without cgo")

// Backend is the ONNX Runtime backend; in this build it is never available.
type Backend struct{}

var _ backends.Backend = (*Backend)(nil)

// New returns the backend. The options are ignored.
func New(Options) *Backend { return &Backend{} }

// Name returns "onnxruntime".
func (b *Backend) Name() string { return BackendName }

// Available says that this build has no cgo.
func (b *Backend) Available() error { return errNoCgo }

// Load fails: this build has no cgo.
func (b *Backend) Load(context.Context, backends.LoadSpec) (backends.Model, error) {
	return nil, errNoCgo
}

// Close does nothing.
func (b *Backend) Close() error { return nil }

// Model is a loaded instance; this build never has one.
type Model struct{}

var _ backends.Model = (*Model)(nil)

// Metadata returns nothing.
func (m *Model) Metadata() backends.Metadata { return backends.Metadata{} }

// Run fails: this build has no cgo.
func (m *Model) Run(context.Context, []backends.Tensor) ([]backends.Tensor, error) {
	return nil, errNoCgo
}

// Close does nothing.
func (m *Model) Close() error { return nil }
