package gorgonia

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/onnxtestdata"
)

// runOnnxCase loads and runs one of ONNX's backend test cases and returns
// "" when every output is within the case's tolerances (for the light
// model-zoo CNNs, atol 1e-3), else why not, and whether the backend refused
// the model at load.
func runOnnxCase(c onnxtestdata.Case) (problem string, refused bool) {
	ins, wants, err := c.Load()
	if err != nil {
		return err.Error(), true // a non-tensor input or output
	}
	ctx := context.Background()
	m, err := New(Options{Logger: quiet}).Load(ctx, backends.LoadSpec{Model: c.Suite + "/" + c.Name, Version: 1, Path: c.Model, Threads: 1, Logger: quiet})
	if err != nil {
		return err.Error(), true
	}
	defer m.Close()
	outs, err := m.Run(ctx, ins)
	if err != nil {
		return err.Error(), false
	}
	if len(outs) != len(wants) {
		return fmt.Sprintf("%d outputs, want %d", len(outs), len(wants)), false
	}
	atol := c.ATol
	if c.Suite == "light" {
		atol = max(atol, 1e-3)
	}
	var errs []error
	for i := range outs {
		errs = append(errs, onnxtestdata.Close(outs[i], wants[i], c.RTol, atol))
	}
	if err := errors.Join(errs...); err != nil {
		return err.Error(), false
	}
	return "", false
}

// TestONNXBackendTestData runs ONNX's own backend test models and the light
// model-zoo CNNs, logs a pass/refused/FAIL table, and holds the backend to
// the number it passes and to every light CNN. It skips when the data is
// absent (`make conformance-venv`, or TIFFIN_ONNX_TESTDATA) and in -short;
// under the race detector it runs SqueezeNet but not the other, far bigger,
// CNNs.
func TestONNXBackendTestData(t *testing.T) {
	dir, err := onnxtestdata.Dir()
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	if testing.Short() {
		t.Skip("skipping in -short: the zoo CNNs take a while")
	}
	cases, err := onnxtestdata.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var pass, refused, failed, lights, lightPass, skipped int
	var table strings.Builder
	for _, c := range cases {
		if raceEnabled && c.Suite == "light" && c.Name != "light_squeezenet" {
			// Under the race detector the big CNNs take many minutes;
			// SqueezeNet still exercises every path they use.
			skipped++
			fmt.Fprintf(&table, "%-18s %-55s %-8s %s\n", c.Suite, c.Name, "skipped", "race detector on: run without -race to check it")
			continue
		}
		problem, ref := runOnnxCase(c)
		status := "pass"
		switch {
		case problem == "":
			pass++
		case ref:
			status, refused = "refused", refused+1
		default:
			status, failed = "FAIL", failed+1
		}
		if c.Suite == "light" {
			lights++
			if problem == "" {
				lightPass++
			}
		}
		if len(problem) > 200 {
			problem = problem[:200] + "…"
		}
		fmt.Fprintf(&table, "%-18s %-55s %-8s %s\n", c.Suite, c.Name, status, problem)
	}
	t.Logf("ONNX backend test data in %s:\n%s\n%d cases: %d pass (%d of %d light CNNs), %d refused, %d FAIL, %d skipped",
		dir, table.String(), len(cases), pass, lightPass, lights, refused, failed, skipped)
	if pass+skipped < minOnnxPass {
		t.Errorf("%d cases pass (%d skipped), want at least %d", pass, skipped, minOnnxPass)
	}
	if lightPass != lights {
		t.Errorf("%d of the %d light model-zoo CNNs pass, want all", lightPass, lights)
	}
}

// minOnnxPass is the number of cases the backend passes with the pinned onnx
// wheel's data (1.23.2, 149 cases); it only goes up. The rest (14) are
// refused: FP64 inputs (5 pytorch-operator Adds, test_sequence_model7),
// string inputs (the 6 StringNormalizer models) and FP32 scalar inputs
// (the 2 gradient models).
const minOnnxPass = 135
