package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tiffin-ml/tiffin/runtime/config"
)

// TestTuneSweepsAndRecommends runs a small real sweep of mlp-small and
// checks the table and that the recommended block is a valid config.
func TestTuneSweepsAndRecommends(t *testing.T) {
	repo := demoRepo(t)
	table, m, b := tuneMLPSmall(t, repo, "--sizes", "1,8", "--windows", "0s,1ms")
	for _, want := range []string{"DEVICE", "ROWS/S", "P99", "<- best", "<- as configured", "recommended for cpu",
		"cpu as configured (static window 2ms, max batch 64, 1 instance): ", " of the best",
		"cpu measured again, alternately: as configured "} {
		if !strings.Contains(table, want) {
			t.Fatalf("output lacks %q:\n%s", want, table)
		}
	}
	if n := strings.Count(table, "\n  cpu "); n != 5 {
		t.Fatalf("%d progress lines, want the model as configured and 4 settings:\n%s", n, table)
	}
	if m.MaxBatchSize == nil || m.Batching.Mode != config.BatchStatic {
		t.Fatalf("recommendation %+v:\n%s", m, b)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"tune", "--model-repository", repo, "--model", "mlp-small", "--sizes", "0"}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "--sizes") {
		t.Fatalf("a bad --sizes: exit %d, %s", code, stderr.String())
	}
}

// TestTuneSweepsCorePlans sweeps instances × threads per instance and
// recommends an instance group with the cores it measured.
func TestTuneSweepsCorePlans(t *testing.T) {
	repo := demoRepo(t)
	table, m, b := tuneMLPSmall(t, repo, "--sizes", "8", "--windows", "0s", "--instances", "1,2", "--threads", "1")
	if !strings.Contains(table, "plan 1x1") {
		t.Fatalf("no 1x1 plan in the sweep:\n%s", table)
	}
	if len(m.InstanceGroups) != 1 || len(m.InstanceGroups[0].Cores) != m.InstanceGroups[0].Count {
		t.Fatalf("recommendation has no instance group of the plan's cores:\n%s", b)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"tune", "--model-repository", repo, "--model", "mlp-small", "--threads", "1"}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "--threads needs --instances") {
		t.Fatalf("--threads alone: exit %d, %s", code, stderr.String())
	}
}

// tuneMLPSmall runs a short real `tiffin tune` of mlp-small (4 clients, 200ms
// per setting) with the extra flags, and returns its table and its
// recommendation, which must be a valid model config, parsed and raw.
func tuneMLPSmall(t *testing.T, repo string, flags ...string) (string, config.Model, []byte) {
	t.Helper()
	lib := requireORT(t)
	out := filepath.Join(t.TempDir(), "rec.yaml")
	args := append([]string{"tune", "--model-repository", repo, "--model", "mlp-small", "--clients", "4",
		"--duration", "200ms", "--confirm", "1", "--ort-library", lib, "--out", out}, flags...)
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("%v: exit %d: %s", flags, code, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var m config.Model
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("recommendation is not a config: %v\n%s", err, b)
	}
	if err := m.Validate(); err != nil {
		t.Fatalf("recommendation is not a valid config: %v\n%s", err, b)
	}
	return stdout.String(), m, b
}
