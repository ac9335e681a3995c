package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadModel feeds config.yaml arbitrary text: a bad file must be an
// error naming the file, never a panic. Run with `make fuzz`.
func FuzzLoadModel(f *testing.F) {
	for _, s := range []string{
		"backend: onnxruntime\nmax_batch_size: 64\n",
		"instance_groups: [{kind: cpu, count: 2, cores: [0, 1]}]\nbatching: {mode: adaptive, max_queue_delay: 2ms}\n",
		"version_policy: {specific: [1, 3]}\n",
		"batching: {preferred_batch_sizes: [16, 32], timeout: 5s}\n",
		": : :\n\t- [",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = LoadModel(path)
	})
}
