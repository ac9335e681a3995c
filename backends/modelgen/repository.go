package modelgen

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tiffin-ml/tiffin/backends"
)

// Spec is one demo model of the repository WriteRepository writes.
type Spec struct {
	Name string
	// Metadata is the signature the model file declares, batch axes -1.
	Metadata backends.Metadata
	// Config is the model's config.yaml, or "" when the model has none and
	// the server infers everything from the model file.
	Config string
	// Build serializes the model; every call returns the same bytes.
	Build func() ([]byte, error)
}

// MLPSmallConfig is the config.yaml of the mlp-small demo model; it shows the
// server's model configuration format.
const MLPSmallConfig = `backend: onnxruntime
max_batch_size: 64
instance_groups:
  - kind: cpu
    count: 1
batching:
  mode: static
  max_queue_delay: 2ms
  preferred_batch_sizes: [16, 32]
  max_queue_size: 1024
  timeout: 5s
`

// Models lists the demo models: mlp-small, mlp-large, cnn and multi-io.
func Models() []Spec {
	small, large, cnn, multi := MLPSmall(), MLPLarge(), NewCNN(CNNSeed), NewMultiIO()
	return []Spec{
		{Name: small.Name, Metadata: small.Metadata(), Config: MLPSmallConfig, Build: small.ONNX},
		{Name: large.Name, Metadata: large.Metadata(), Build: large.ONNX},
		{Name: cnn.Name, Metadata: cnn.Metadata(), Build: cnn.ONNX},
		{Name: multi.Name, Metadata: multi.Metadata(), Build: multi.ONNX},
	}
}

// BenchModels lists the benchmark models of bench/README.md, each with no
// config, as a new user would serve them: mlp-compute and tiny.
func BenchModels() []Spec {
	compute, tiny := MLPCompute(), Tiny()
	return []Spec{
		{Name: compute.Name, Metadata: compute.Metadata(), Build: compute.ONNX},
		{Name: tiny.Name, Metadata: tiny.Metadata(), Build: tiny.ONNX},
	}
}

// WriteRepository writes the demo model repository under dir:
// dir/<model>/1/model.onnx for every model of Models, and
// dir/<model>/config.yaml for those with a Config. It creates dir as needed
// and overwrites the files it writes, each atomically (a temporary file
// renamed into place), so a server watching dir never reads half a model.
// Other files under dir are left alone.
func WriteRepository(dir string) error { return WriteSpecs(dir, Models()) }

// WriteSpecs writes specs under dir as WriteRepository does.
func WriteSpecs(dir string, specs []Spec) error {
	for _, s := range specs {
		b, err := s.Build()
		if err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(dir, s.Name, "1", "model.onnx"), b); err != nil {
			return err
		}
		if s.Config == "" {
			continue
		}
		if err := writeFileAtomic(filepath.Join(dir, s.Name, "config.yaml"), []byte(s.Config)); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, synced and renamed over path.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("modelgen: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("modelgen: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("modelgen: write %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("modelgen: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("modelgen: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("modelgen: close %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("modelgen: %w", err)
	}
	return nil
}
