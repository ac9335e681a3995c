package runtime

import (
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// A model folder with many links to itself is fingerprinted reading each
// real folder once: ten links to "." used to mean ten to the ninth folder
// reads under loadMu, hours of a load holding every other back.
func TestStampFollowsEachFolderOnce(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "1", "model.onnx"), []byte("m"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := os.Symlink(".", filepath.Join(dir, "loop"+strconv.Itoa(i))); err != nil {
			t.Skipf("no symbolic links here: %v", err)
		}
	}
	s := &stamper{h: fnv.New64a(), seen: map[string]bool{}}
	s.dir(dir, 0)
	if s.entries > 100 {
		t.Fatalf("%d entries read for a folder of 12", s.entries)
	}
	if len(s.seen) != 2 {
		t.Fatalf("%d real folders read, want the model's and its version's", len(s.seen))
	}
}
