package gorgonia

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

// onnxCase is one of ONNX's backend test cases: a model, its inputs and the
// outputs ONNX expects.
type onnxCase struct {
	name, path string
	inputs     []backends.Tensor
	want       []*constTensor
	light      bool // a model-zoo CNN from the light folder
}

// onnxDataDir finds ONNX's backend test data: TIFFIN_ONNX_TESTDATA, or an
// onnx wheel unpacked (or installed) anywhere under the repository's build/.
func onnxDataDir() string {
	if d := os.Getenv("TIFFIN_ONNX_TESTDATA"); d != "" {
		return d
	}
	var found string
	filepath.WalkDir("../../build", func(p string, d os.DirEntry, err error) error {
		if err != nil || found != "" {
			return filepath.SkipDir
		}
		if d.IsDir() && strings.HasSuffix(p, filepath.Join("onnx", "backend", "test", "data")) {
			found = p
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

// loadOnnxCases reads every case of the pytorch-converted, pytorch-operator,
// simple and light folders.
func loadOnnxCases(t *testing.T, dir string) []onnxCase {
	var cases []onnxCase
	for _, kind := range []string{"pytorch-converted", "pytorch-operator", "simple"} {
		models, _ := filepath.Glob(filepath.Join(dir, kind, "*", "model.onnx"))
		for _, m := range models {
			c := onnxCase{name: kind + "/" + filepath.Base(filepath.Dir(m)), path: m}
			set := filepath.Join(filepath.Dir(m), "test_data_set_0")
			for i := 0; ; i++ {
				in, err := readTensorFile(filepath.Join(set, fmt.Sprintf("input_%d.pb", i)))
				if err != nil {
					break
				}
				c.inputs = append(c.inputs, in)
			}
			for i := 0; ; i++ {
				out, err := readConstFile(filepath.Join(set, fmt.Sprintf("output_%d.pb", i)))
				if err != nil {
					break
				}
				c.want = append(c.want, out)
			}
			cases = append(cases, c)
		}
	}
	light, _ := filepath.Glob(filepath.Join(dir, "light", "light_*.onnx"))
	for _, m := range light {
		c := onnxCase{name: "light/" + strings.TrimSuffix(filepath.Base(m), ".onnx"), path: m, light: true}
		out, err := readConstFile(strings.TrimSuffix(m, ".onnx") + "_output_0.pb")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		c.want = []*constTensor{out}
		cases = append(cases, c)
	}
	return cases
}

func readConstFile(path string) (*constTensor, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var tp onnxpb.TensorProto
	if err := proto.Unmarshal(data, &tp); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return decodeTensor(&tp)
}

// readTensorFile reads a TensorProto as an FP32 request tensor; other
// element types come back as FP32 too only when they are FLOAT, so a model
// taking them is refused by the backend, as a client would see.
func readTensorFile(path string) (backends.Tensor, error) {
	c, err := readConstFile(path)
	if err != nil {
		return backends.Tensor{}, err
	}
	t := backends.Tensor{DataType: backends.FP32, Shape: toInt64s(c.shape)}
	if !c.isInt {
		t.Data = f32Bytes(c.f32)
	}
	return t, nil
}

// lightInputs are the inputs ONNX's runner feeds the light models:
// arange(n)/n in the input's declared shape (dynamic axes 1).
func lightInputs(meta backends.Metadata) []backends.Tensor {
	ins := make([]backends.Tensor, len(meta.Inputs))
	for i, s := range meta.Inputs {
		shape := make([]int64, len(s.Shape))
		n := 1
		for j, d := range s.Shape {
			shape[j] = max(d, 1)
			n *= int(shape[j])
		}
		data := make([]float32, n)
		for k := range data {
			data[k] = float32(float64(k) / float64(n))
		}
		ins[i] = backends.Tensor{Name: s.Name, DataType: backends.FP32, Shape: shape, Data: f32Bytes(data)}
	}
	return ins
}

// runOnnxCase loads and runs one case and returns "pass", or why not.
func runOnnxCase(c onnxCase) (result string, refused bool) {
	ctx := context.Background()
	m, err := New(Options{Logger: quiet}).Load(ctx, backends.LoadSpec{Model: c.name, Version: 1, Path: c.path, Threads: 1, Logger: quiet})
	if err != nil {
		return err.Error(), true
	}
	defer m.Close()
	in := c.inputs
	if c.light {
		in = lightInputs(m.Metadata())
	}
	for i := range in {
		in[i].Name = m.Metadata().Inputs[min(i, len(m.Metadata().Inputs)-1)].Name
	}
	outs, err := m.Run(ctx, in)
	if err != nil {
		return err.Error(), false
	}
	if len(outs) != len(c.want) {
		return fmt.Sprintf("%d outputs, want %d", len(outs), len(c.want)), false
	}
	rtol, atol := 1e-3, 1e-7 // ONNX's runner: numpy assert_allclose
	if c.light {
		atol = 1e-3
	}
	for i, o := range outs {
		w := c.want[i]
		if !slices.Equal(o.Shape, toInt64s(w.shape)) && numElems(w.shape) != int(o.NumElements()) {
			return fmt.Sprintf("output %d has shape %v, want %v", i, o.Shape, w.shape), false
		}
		got := bytesF32(o.Data)
		for k, g := range got {
			e := float64(w.f32[k])
			if math.IsNaN(e) && math.IsNaN(float64(g)) {
				continue // numpy's assert_allclose: NaN equals NaN
			}
			if d := math.Abs(float64(g) - e); !(d <= atol+rtol*math.Abs(e)) {
				return fmt.Sprintf("output %d element %d: got %g, want %g", i, k, g, e), false
			}
		}
	}
	return "pass", false
}

// TestONNXBackendTestData runs ONNX's own backend test models and the light
// model-zoo CNNs, prints a pass/refuse/fail table, and holds the backend to
// the number it passes. It skips when the data (the onnx wheel's
// onnx/backend/test/data) is not under build/ and TIFFIN_ONNX_TESTDATA is
// unset.
func TestONNXBackendTestData(t *testing.T) {
	dir := onnxDataDir()
	if dir == "" {
		t.Skip("ONNX's backend test data is absent: set TIFFIN_ONNX_TESTDATA to an onnx/backend/test/data folder, or unpack the onnx wheel under build/")
	}
	if testing.Short() {
		t.Skip("the zoo CNNs take a while; not in -short")
	}
	cases := loadOnnxCases(t, dir)
	var pass, refused, failed, lightPass int
	var table strings.Builder
	for _, c := range cases {
		res, ref := runOnnxCase(c)
		status := "pass"
		switch {
		case res == "pass":
			pass++
			if c.light {
				lightPass++
			}
		case ref:
			status, refused = "refused", refused+1
		default:
			status, failed = "FAIL", failed+1
		}
		if len(res) > 160 {
			res = res[:160] + "…"
		}
		fmt.Fprintf(&table, "%-70s %-8s %s\n", c.name, status, strings.TrimPrefix(res, "pass"))
	}
	t.Logf("ONNX backend test data in %s:\n%s\n%d cases: %d pass (%d of the light CNNs), %d refused, %d fail",
		dir, table.String(), len(cases), pass, lightPass, refused, failed)
	if pass < minOnnxPass {
		t.Errorf("%d cases pass, want at least %d", pass, minOnnxPass)
	}
	if lights := len(cases) - len(slices.DeleteFunc(slices.Clone(cases), func(c onnxCase) bool { return c.light })); lightPass != lights {
		t.Errorf("%d of the %d light model-zoo CNNs pass, want all", lightPass, lights)
	}
}

// minOnnxPass is the number of cases the backend passes with the onnx 1.17.0
// wheel's data (149 cases); it only goes up. The rest are refused: FP64,
// INT64 and string inputs, sequences, scalar inputs and ConvTranspose.
const minOnnxPass = 118
