//go:build !cgo

package onnx

import (
	"context"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
)

func TestNoCgo(t *testing.T) {
	b := New(Options{})
	if b.Name() != "onnxruntime" {
		t.Errorf("Name() = %q", b.Name())
	}
	if err := b.Available(); err == nil || err.Error() != "onnxruntime backend is not available in a build without cgo" {
		t.Errorf("Available() = %v", err)
	}
	if m, err := b.Load(context.Background(), backends.LoadSpec{}); m != nil || err == nil {
		t.Errorf("Load() = %v, %v", m, err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
}
