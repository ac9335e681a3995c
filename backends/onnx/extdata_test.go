//go:build cgo

package onnx

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/modelgen"
	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

// A model with a scalar input is given to ONNX Runtime as bytes (its
// scalars wrapped, scalars.go); its external data must still be read from
// beside the model file, never from the server's working directory, where
// a file of the same name could be anything the server can read.
func TestExternalDataBesideAWrappedModel(t *testing.T) {
	b := newTestBackend(t)
	model, err := modelgen.Identity(backends.FP32, false) // x, y: scalars
	if err != nil {
		t.Fatal(err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(model, &m); err != nil {
		t.Fatal(err)
	}
	beside, elsewhere := []byte("the model's own data"), []byte("the server's secrets")
	n := int64(len(beside))
	u8 := int32(onnxpb.TensorProto_UINT8)
	g := m.Graph
	g.Initializer = append(g.Initializer, &onnxpb.TensorProto{Name: "w", DataType: u8, Dims: []int64{n}, DataLocation: onnxpb.TensorProto_EXTERNAL,
		ExternalData: []*onnxpb.StringStringEntryProto{{Key: "location", Value: "data.bin"}}})
	g.Node = append(g.Node, &onnxpb.NodeProto{OpType: "Identity", Input: []string{"w"}, Output: []string{"w_out"}})
	wOut := proto.Clone(g.Output[0]).(*onnxpb.ValueInfoProto)
	wOut.Name = "w_out"
	tt := wOut.GetType().GetTensorType()
	tt.ElemType = u8
	tt.Shape = &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: n}}}}
	g.Output = append(g.Output, wOut)
	data, err := proto.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	dir, cwd := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "model.onnx"), data)
	writeFile(t, filepath.Join(dir, "data.bin"), beside)
	writeFile(t, filepath.Join(cwd, "data.bin"), elsewhere)
	t.Chdir(cwd)
	mod := load(t, b, filepath.Join(dir, "model.onnx"))
	out, err := mod.Run(context.Background(), []backends.Tensor{{Name: "x", DataType: backends.FP32, Data: f32Bytes(1)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if o.Name == "w_out" && string(o.Data) != string(beside) {
			t.Fatalf("external data read %q, want %q from beside the model", o.Data, beside)
		}
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
