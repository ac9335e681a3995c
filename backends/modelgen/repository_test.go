package modelgen

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// listTree lists the regular files under dir, relative and sorted.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

func TestWriteRepository(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "models") // WriteRepository creates it
	for round := 0; round < 2; round++ {        // the second run overwrites
		if err := WriteRepository(dir); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"cnn/1/model.onnx",
		"mlp-large/1/model.onnx",
		"mlp-small/1/model.onnx",
		"mlp-small/config.yaml",
		"multi-io/1/model.onnx",
	}
	if got := listTree(t, dir); !reflect.DeepEqual(got, want) {
		t.Fatalf("tree:\n got %q\nwant %q", got, want)
	}
	for _, s := range Models() {
		b, err := s.Build()
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, s.Name, "1", "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, b) {
			t.Errorf("%s: model.onnx differs from Build", s.Name)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "mlp-small", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg) != MLPSmallConfig {
		t.Errorf("config.yaml:\n%s\nwant\n%s", cfg, MLPSmallConfig)
	}
}

func TestWriteRepositoryReplacesFiles(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "mlp-small", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteRepository(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(stale)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 || fi.Size() != int64(len(MLPSmallConfig)) {
		t.Errorf("config.yaml not replaced: mode %v, %d bytes", fi.Mode(), fi.Size())
	}
}

func TestWriteRepositoryError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteRepository(file); err == nil {
		t.Error("WriteRepository under a regular file succeeded")
	}
}
