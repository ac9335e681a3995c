package runtime

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/backendtest"
)

// A model folder whose name is not a model name ("a b", a Triton model
// named in another script) is not served: LoadAll says so, naming the
// folder, where before it vanished without a word (not in the index, not
// in the log, and --strict-readiness reported ready). Hidden folders (a
// Kubernetes volume's ..data, .git) are passed over quietly.
func TestLoadAllWarnsOfFoldersSkippedForTheirName(t *testing.T) {
	repo := t.TempDir()
	for _, name := range []string{"good", "a b", `we"ird`} {
		if err := backendtest.WriteModel(repo, name, "", 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(repo, "..data"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := loadAllLog(t, repo)
	for _, want := range []string{`"a b"`, `we\"ird`} {
		if !strings.Contains(out, "level=WARN") || !strings.Contains(out, want) {
			t.Errorf("no warning naming the skipped folder %s; log:\n%s", want, out)
		}
	}
	if strings.Contains(out, "..data") {
		t.Errorf("a hidden folder was warned of; log:\n%s", out)
	}
}

// A repository with no model folders (a mistyped path inside the right
// one, model files where folders belong) starts ready and serves nothing:
// LoadAll warns, naming the layout it wants.
func TestLoadAllWarnsOfAnEmptyRepository(t *testing.T) {
	repo := t.TempDir()
	if err := os.WriteFile(filepath.Join(repo, "model.onnx"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := loadAllLog(t, repo); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "no model folders") ||
		!strings.Contains(out, "<model>/<version>/model.onnx") {
		t.Fatalf("no warning of the empty repository; log:\n%s", out)
	}
}

// loadAllLog loads every model of repo with a fake backend and returns
// what the manager logged.
func loadAllLog(t *testing.T, repo string) string {
	t.Helper()
	var logs bytes.Buffer
	m := NewManager(ManagerOptions{Repository: repo, Backends: backends.NewRegistry(backendtest.New(backendtest.Options{})),
		Inventory: Inventory{Cores: [][]int{{0}}, Nodes: []int{0}}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer m.Close(context.Background())
	if err := m.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	return logs.String()
}
