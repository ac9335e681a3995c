package onnxpb

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tiffin-ml/tiffin/backends"
)

func TestToDataType(t *testing.T) {
	cases := []struct {
		elem TensorProto_DataType
		want backends.DataType
	}{
		{TensorProto_FLOAT, backends.FP32},
		{TensorProto_DOUBLE, backends.FP64},
		{TensorProto_FLOAT16, backends.FP16},
		{TensorProto_BFLOAT16, backends.BF16},
		{TensorProto_STRING, backends.Bytes},
		{TensorProto_BOOL, backends.Bool},
		{TensorProto_UINT8, backends.Uint8},
		{TensorProto_UINT16, backends.Uint16},
		{TensorProto_UINT32, backends.Uint32},
		{TensorProto_UINT64, backends.Uint64},
		{TensorProto_INT8, backends.Int8},
		{TensorProto_INT16, backends.Int16},
		{TensorProto_INT32, backends.Int32},
		{TensorProto_INT64, backends.Int64},
	}
	for _, c := range cases {
		got, ok := ToDataType(int32(c.elem))
		if !ok || got != c.want {
			t.Errorf("ToDataType(%s) = %s, %v; want %s", c.elem, got, ok, c.want)
		}
		back, ok := FromDataType(c.want)
		if !ok || back != int32(c.elem) {
			t.Errorf("FromDataType(%s) = %d, %v; want %d", c.want, back, ok, c.elem)
		}
	}
	for _, e := range []TensorProto_DataType{TensorProto_UNDEFINED, TensorProto_COMPLEX64, TensorProto_FLOAT8E4M3FN, 99} {
		if d, ok := ToDataType(int32(e)); ok {
			t.Errorf("ToDataType(%s) = %s, want no mapping", e, d)
		}
	}
	if e, ok := FromDataType(backends.Invalid); ok {
		t.Errorf("FromDataType(Invalid) = %d, want no mapping", e)
	}
}

// testDataDir finds onnxruntime_go's test models in the module cache.
func testDataDir(t *testing.T) string {
	t.Helper()
	const mod = "github.com/yalue/onnxruntime_go"
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", mod).Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		if cache := os.Getenv("GOMODCACHE"); cache != "" {
			dir = filepath.Join(cache, mod+"@v1.27.0")
		}
	}
	dir = filepath.Join(dir, "test_data")
	if _, err := os.Stat(filepath.Join(dir, "example_multitype.onnx")); err != nil {
		t.Skipf("onnxruntime_go test models not found (go list: %v; looked in %q)", err, dir)
	}
	return dir
}

func spec(name string, d backends.DataType, shape ...int64) backends.TensorSpec {
	return backends.TensorSpec{Name: name, DataType: d, Shape: shape}
}

func TestInspectTestModels(t *testing.T) {
	dir := testDataDir(t)
	cases := []struct {
		file  string
		want  backends.Metadata
		notes []string
	}{
		{"example_several_inputs_and_outputs.onnx", backends.Metadata{
			Inputs: []backends.TensorSpec{
				spec("input 1", backends.Int32, 2, 5, 2, 5),
				spec("input 2", backends.FP32, 2, 3, 20),
				spec("input 3", backends.BF16, 9),
			},
			Outputs: []backends.TensorSpec{
				spec("output 1", backends.Int64, 10, 10),
				spec("output 2", backends.FP64, 1, 2, 3, 4, 5),
			},
		}, nil},
		{"example_multitype.onnx", backends.Metadata{
			Inputs:  []backends.TensorSpec{spec("InputA", backends.Uint8, 1, 1, 1), spec("InputB", backends.FP64, 1, 2, 2)},
			Outputs: []backends.TensorSpec{spec("OutputA", backends.Int16, 1, 2, 2), spec("OutputB", backends.Int64, 1, 1, 1)},
		}, nil},
		{"example_dynamic_axes.onnx", backends.Metadata{
			Inputs:  []backends.TensorSpec{spec("input_vectors", backends.FP32, -1, 10)},
			Outputs: []backends.TensorSpec{spec("output_scalars", backends.FP32, -1)},
		}, nil},
		{"sklearn_randomforest.onnx", backends.Metadata{
			Inputs:  []backends.TensorSpec{spec("X", backends.FP32, -1, 4)},
			Outputs: []backends.TensorSpec{spec("output_label", backends.Int64, -1)},
		}, []string{`output "output_probability" skipped: type seq(map(int64,tensor(float))) is not a tensor`}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			md, notes, err := Inspect(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(md, c.want) {
				t.Errorf("metadata:\n got %v\nwant %v", md, c.want)
			}
			if !reflect.DeepEqual(notes, c.notes) {
				t.Errorf("notes:\n got %q\nwant %q", notes, c.notes)
			}
		})
	}
}

// TestFieldNumbers decodes models written by PyTorch and skl2onnx and checks
// that every field landed in a declared field: a wrong field number in
// onnx.proto would leave bytes among the unknown fields (or fail to decode).
// These models use none of the fields the schema leaves out.
func TestFieldNumbers(t *testing.T) {
	dir := testDataDir(t)
	for _, f := range []string{"example_several_inputs_and_outputs.onnx", "example_multitype.onnx",
		"example_dynamic_axes.onnx", "sklearn_randomforest.onnx"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		var m ModelProto
		if err := proto.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if m.GetIrVersion() == 0 || len(m.GetOpsetImport()) == 0 || len(m.GetGraph().GetNode()) == 0 {
			t.Errorf("%s: decoded an empty model: ir %d, %d opsets, %d nodes", f,
				m.GetIrVersion(), len(m.GetOpsetImport()), len(m.GetGraph().GetNode()))
		}
		walk(m.ProtoReflect(), func(msg protoreflect.Message) {
			if u := msg.GetUnknown(); len(u) > 0 {
				t.Errorf("%s: %s has %d bytes of unknown fields", f, msg.Descriptor().FullName(), len(u))
			}
		})
	}
}

// walk calls fn on msg and every message below it.
func walk(msg protoreflect.Message, fn func(protoreflect.Message)) {
	fn(msg)
	msg.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil {
			return true
		}
		if fd.IsList() {
			for i := 0; i < v.List().Len(); i++ {
				walk(v.List().Get(i).Message(), fn)
			}
			return true
		}
		walk(v.Message(), fn)
		return true
	})
}
