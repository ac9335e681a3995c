package runtime

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// A repository built from symbolic links (a model store mounted or linked
// in) is served as Triton serves it: linked model and version folders are
// found, and a change behind a linked file changes the model's stamp, so
// poll mode reloads it.
func TestRepositoryFollowsSymlinks(t *testing.T) {
	store, repo := t.TempDir(), t.TempDir()
	write := func(path, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, name); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(store, "k", "1", "model.onnx"), "k") // a whole model folder, linked in
	write(filepath.Join(store, "v1", "model.onnx"), "j")     // a version folder, linked in
	write(filepath.Join(store, "m.onnx"), "first")           // a model file, linked in
	link(filepath.Join(store, "k"), filepath.Join(repo, "k"))
	write(filepath.Join(repo, "j", "config.yaml"), "")
	link(filepath.Join(store, "v1"), filepath.Join(repo, "j", "1"))
	write(filepath.Join(repo, "z", "config.yaml"), "")
	if err := os.MkdirAll(filepath.Join(repo, "z", "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	link(filepath.Join(store, "m.onnx"), filepath.Join(repo, "z", "1", "model.onnx"))

	names, err := ListModels(repo)
	if err != nil || !slices.Equal(names, []string{"j", "k", "z"}) {
		t.Fatalf("models %v (%v), want j, k, z", names, err)
	}
	for _, name := range names {
		md, err := ScanModel(repo, name)
		if err != nil || len(md.Versions) != 1 || md.Versions[0].Version != 1 {
			t.Fatalf("%s: %+v %v; want version 1", name, md.Versions, err)
		}
	}
	before := stampModel(repo, "z")
	time.Sleep(10 * time.Millisecond) // a later modification time
	write(filepath.Join(store, "m.onnx"), "second, longer")
	if stampModel(repo, "z") == before {
		t.Fatal("a change behind a linked model file left the stamp as it was")
	}
}

// The layouts a newcomer tries first fail saying how to fix them: a model
// file straight in the model folder, and --model-repository given a
// model's own folder (its version folder "1" then reads as a model).
func TestScanModelSaysHowToFixTheLayout(t *testing.T) {
	repo := t.TempDir()
	for _, f := range []string{"flat/model.onnx", "1/model.onnx", "empty/README"} {
		p := filepath.Join(repo, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]string{
		"flat":  "move model.onnx into a version folder, flat/1/model.onnx",
		"1":     "is --model-repository a model's own folder?",
		"empty": "no version folders (want empty/<version>/<model file>)",
	} {
		_, err := ScanModel(repo, name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: %v, want an error naming %q", name, err, want)
		}
	}
	if _, err := ScanModel(repo, "empty"); strings.Contains(err.Error(), "version folder,") || strings.Contains(err.Error(), "own folder") {
		t.Fatalf("empty: %v, want no hint that does not apply", err)
	}
}
