package onnxtestdata

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

// ONNX's default tolerances (onnx/backend/test/loader and case/model): an
// answer x matches the expected y when |x - y| <= ATol + RTol*|y|.
const (
	DefaultRTol = 1e-3
	DefaultATol = 1e-7
)

// lightRTol holds the light models whose rtol differs from the default, as
// onnx/backend/test/case/model/__init__.py lists them.
var lightRTol = map[string]float64{"light_densenet121": 2e-3}

// readTolerances applies a case's data.json ("rtol", "atol"), if any.
func readTolerances(path string, rtol, atol float64) (float64, float64) {
	b, err := os.ReadFile(path)
	if err != nil {
		return rtol, atol
	}
	var d struct{ RTol, ATol *float64 }
	if json.Unmarshal(b, &d) == nil {
		if d.RTol != nil {
			rtol = *d.RTol
		}
		if d.ATol != nil {
			atol = *d.ATol
		}
	}
	return rtol, atol
}

// Load decodes the case's inputs and expected outputs. Each tensor is named
// after the graph input (those that are not initializers) or output at its
// position, the way ONNX's runner feeds and reads them. A case whose model
// has a non-tensor input or output (a sequence, a map) is refused with an
// error that names it: the V2 protocol carries only tensors.
func (c Case) Load() (inputs, outputs []backends.Tensor, err error) {
	model, err := os.ReadFile(c.Model)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(model, &m); err != nil {
		return nil, nil, fmt.Errorf("%s: model: %w", c.Name, err)
	}
	ins, outs, err := signature(m.GetGraph())
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	if c.Data == "" {
		inputs, err = dummyInputs(ins)
		if err == nil {
			outputs, err = readNamed([]string{c.Expected}, outs)
		}
	} else {
		inputs, err = readNamed(numbered(c.Data, "input", len(ins)), ins)
		if err == nil {
			outputs, err = readNamed(numbered(c.Data, "output", len(outs)), outs)
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	return inputs, outputs, nil
}

// signature returns the graph's tensor inputs (initializers excepted) and
// outputs, in order.
func signature(g *onnxpb.GraphProto) (ins, outs []*onnxpb.ValueInfoProto, err error) {
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	for _, v := range g.GetInput() {
		if !inits[v.GetName()] {
			ins = append(ins, v)
		}
	}
	outs = g.GetOutput()
	for _, v := range append(append([]*onnxpb.ValueInfoProto{}, ins...), outs...) {
		if v.GetType().GetTensorType() == nil {
			return nil, nil, fmt.Errorf("%q is not a tensor; the V2 protocol carries only tensors", v.GetName())
		}
	}
	return ins, outs, nil
}

// numbered lists dir/prefix_0.pb … prefix_{n-1}.pb.
func numbered(dir, prefix string, n int) []string {
	paths := make([]string, n)
	for i := range paths {
		paths[i] = filepath.Join(dir, fmt.Sprintf("%s_%d.pb", prefix, i))
	}
	return paths
}

// readNamed reads one TensorProto file per value and names it after it.
func readNamed(paths []string, values []*onnxpb.ValueInfoProto) ([]backends.Tensor, error) {
	if len(paths) != len(values) {
		return nil, fmt.Errorf("%d data files for %d graph values", len(paths), len(values))
	}
	out := make([]backends.Tensor, len(paths))
	for i, p := range paths {
		t, err := ReadTensor(p)
		if err != nil {
			return nil, err
		}
		t.Name = values[i].GetName()
		out[i] = t
	}
	return out, nil
}

// ReadTensor decodes one serialized TensorProto file.
func ReadTensor(path string) (backends.Tensor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return backends.Tensor{}, err
	}
	var tp onnxpb.TensorProto
	if err := proto.Unmarshal(b, &tp); err != nil {
		return backends.Tensor{}, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	t, err := onnxpb.ToTensor(&tp)
	if err != nil {
		return t, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return t, nil
}

// dummyInputs makes the inputs ONNX's runner gives the light models:
// arange(n)/n as float32, shaped by the declared dims with unsized ones as 1.
func dummyInputs(ins []*onnxpb.ValueInfoProto) ([]backends.Tensor, error) {
	out := make([]backends.Tensor, len(ins))
	for i, v := range ins {
		tt := v.GetType().GetTensorType()
		if tt.GetElemType() != int32(onnxpb.TensorProto_FLOAT) {
			return nil, fmt.Errorf("input %q: generated inputs are float only", v.GetName())
		}
		shape := make([]int64, len(tt.GetShape().GetDim()))
		for j, d := range tt.GetShape().GetDim() {
			shape[j] = 1
			if dv, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok {
				shape[j] = dv.DimValue
			}
		}
		n := backends.NumElements(shape)
		data := make([]byte, 4*n)
		for k := range n {
			// numpy computes arange(n)/n in float64, then casts.
			binary.LittleEndian.PutUint32(data[4*k:], math.Float32bits(float32(float64(k)/float64(n))))
		}
		out[i] = backends.Tensor{Name: v.GetName(), DataType: backends.FP32, Shape: shape, Data: data}
	}
	return out, nil
}
