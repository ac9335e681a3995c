package onnx

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/modelgen"
	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

func TestWrapScalars(t *testing.T) {
	model, err := modelgen.Identity(backends.FP16, false)
	if err != nil {
		t.Fatal(err)
	}
	wrapped, scalars, err := wrapScalars(model)
	if err != nil || wrapped == nil || !scalars["x"] || !scalars["y"] || len(scalars) != 2 {
		t.Fatalf("wrapScalars: %v, %v, %v", wrapped, scalars, err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(wrapped, &m); err != nil {
		t.Fatal(err)
	}
	g := m.GetGraph()
	var ops []string
	for _, n := range g.GetNode() {
		ops = append(ops, n.GetOpType()+"("+strings.Join(n.GetInput(), ",")+")->"+strings.Join(n.GetOutput(), ","))
	}
	want := []string{
		"Reshape(x,x__tiffin_scalar__shape)->x__tiffin_scalar",
		"Identity(x__tiffin_scalar)->y__tiffin_scalar",
		"Reshape(y__tiffin_scalar,y__shape)->y",
	}
	if !slices.Equal(ops, want) {
		t.Errorf("nodes\n%q\nwant\n%q", ops, want)
	}
	for _, v := range []*onnxpb.ValueInfoProto{g.GetInput()[0], g.GetOutput()[0]} {
		if dims := v.GetType().GetTensorType().GetShape().GetDim(); len(dims) != 1 || dims[0].GetDimValue() != 1 {
			t.Errorf("%s: dims %v, want [1]", v.GetName(), dims)
		}
	}

	batched, err := modelgen.Identity(backends.FP32, true, 3)
	if err != nil {
		t.Fatal(err)
	}
	if out, scalars, err := wrapScalars(batched); out != nil || scalars != nil || err != nil {
		t.Errorf("a model without scalars was rewritten: %v", err)
	}

	m.Reset()
	if err := proto.Unmarshal(model, &m); err != nil {
		t.Fatal(err)
	}
	m.OpsetImport[0].Version = 4
	old, _ := proto.Marshal(&m)
	if _, _, err := wrapScalars(old); err == nil || !strings.Contains(err.Error(), "opset 5") {
		t.Errorf("opset 4: %v, want an error naming opset 5", err)
	}
}
