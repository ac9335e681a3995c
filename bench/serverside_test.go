package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
)

// A baseline is read back for its own model only: another model's
// compute would give a meaningless inflation.
func TestReadBaselineChecksTheModel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "base.json")
	rep := Report{Config: Config{Model: "mlp-large"}, Baseline: &Baseline{Rows: []BaselineRow{{Batch: 1, RowsPerSec: 100}}}}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadBaseline(path, "mlp-large"); err != nil {
		t.Fatalf("its own model: %v", err)
	}
	if _, err := ReadBaseline(path, "mlp-small"); err == nil || !strings.Contains(err.Error(), `is a baseline of model "mlp-large", not of "mlp-small"`) {
		t.Fatalf("another model: %v", err)
	}
}

// A baseline's device reads as the report's comment says: "cpu" unpinned,
// its cores when pinned, "gpuN" on a GPU.
func TestBaselineDeviceName(t *testing.T) {
	for d, want := range map[*backends.Device]string{
		{}:                           "cpu",
		{Cores: []int{0, 1}}:         "cpu[0 1]",
		{Kind: backends.GPU, GPU: 2}: "gpu2",
	} {
		if got := deviceName(*d); got != want {
			t.Errorf("%+v: %q, want %q", *d, got, want)
		}
	}
}
