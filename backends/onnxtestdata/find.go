package onnxtestdata

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// EnvDir names the environment variable that overrides where the test data
// is: the path of onnx/backend/test/data.
const EnvDir = "TIFFIN_ONNX_TESTDATA"

// VenvDir is where `make conformance-venv` installs the pinned onnx wheel,
// relative to the module root.
const VenvDir = "build/conformance-venv"

// Suites are the folders of the data that hold model tests, in report order.
var Suites = []string{"pytorch-converted", "pytorch-operator", "simple", "light"}

// ErrNotFound is returned (wrapped) by Dir when there is no test data.
var ErrNotFound = errors.New("ONNX backend test data not found")

// Dir returns the onnx/backend/test/data folder: $TIFFIN_ONNX_TESTDATA when
// set, else the one inside VenvDir under the module root (found by walking
// up from the working directory to go.mod). The error wraps ErrNotFound and
// says how to get the data.
func Dir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return "", fmt.Errorf("%w: $%s=%q is not a folder", ErrNotFound, EnvDir, d)
		}
		return d, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	pattern := filepath.Join(root, VenvDir, "lib", "python3*", "site-packages", "onnx", "backend", "test", "data")
	matches, _ := filepath.Glob(pattern)
	if len(matches) == 0 {
		return "", fmt.Errorf("%w in %s (run `make conformance-venv`, or set $%s)", ErrNotFound, filepath.Join(root, VenvDir), EnvDir)
	}
	return matches[0], nil
}

// moduleRoot walks up from the working directory to the folder with go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Case is one model test.
type Case struct {
	Name  string // "test_Conv1d", "light_resnet50"
	Suite string // one of Suites
	Model string // path of the .onnx file
	// Data is the test_data_set_0 folder; empty for light models, whose
	// inputs Load generates and whose expected output is Expected.
	Data     string
	Expected string // light models only: light_NAME_output_0.pb
	RTol     float64
	ATol     float64
}

// List returns the cases of the given suites (all of Suites when none are
// given) under dir, sorted by suite order then name. A folder without
// model.onnx and a data set is skipped.
func List(dir string, suites ...string) ([]Case, error) {
	if len(suites) == 0 {
		suites = Suites
	}
	var cases []Case
	for _, s := range suites {
		entries, err := os.ReadDir(filepath.Join(dir, s))
		if err != nil {
			return nil, fmt.Errorf("onnx test data: suite %q: %w", s, err)
		}
		for _, e := range entries {
			if c, ok := caseOf(dir, s, e); ok {
				cases = append(cases, c)
			}
		}
	}
	order := map[string]int{}
	for i, s := range suites {
		order[s] = i
	}
	sort.SliceStable(cases, func(i, j int) bool {
		if cases[i].Suite != cases[j].Suite {
			return order[cases[i].Suite] < order[cases[j].Suite]
		}
		return cases[i].Name < cases[j].Name
	})
	return cases, nil
}

// caseOf makes the case of one folder entry, if it is one.
func caseOf(dir, suite string, e os.DirEntry) (Case, bool) {
	c := Case{Suite: suite, RTol: DefaultRTol, ATol: DefaultATol}
	if suite == "light" {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".onnx") {
			return c, false
		}
		c.Name = strings.TrimSuffix(e.Name(), ".onnx")
		c.Model = filepath.Join(dir, suite, e.Name())
		c.Expected = filepath.Join(dir, suite, c.Name+"_output_0.pb")
		if rtol, ok := lightRTol[c.Name]; ok {
			c.RTol = rtol
		}
		_, err := os.Stat(c.Expected)
		return c, err == nil
	}
	if !e.IsDir() {
		return c, false
	}
	c.Name = e.Name()
	folder := filepath.Join(dir, suite, c.Name)
	c.Model = filepath.Join(folder, "model.onnx")
	c.Data = filepath.Join(folder, "test_data_set_0")
	if _, err := os.Stat(c.Model); err != nil {
		return c, false
	}
	if _, err := os.Stat(c.Data); err != nil {
		return c, false
	}
	c.RTol, c.ATol = readTolerances(filepath.Join(folder, "data.json"), c.RTol, c.ATol)
	return c, true
}
