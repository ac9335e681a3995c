package modelgen

import (
	"bytes"
	"encoding/binary"
	"math"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

func decode(t *testing.T, b []byte) *onnxpb.ModelProto {
	t.Helper()
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func TestModelsParseAndInspect(t *testing.T) {
	wantNames := []string{"mlp-small", "mlp-large", "cnn", "multi-io"}
	specs := Models()
	if len(specs) != len(wantNames) {
		t.Fatalf("Models() has %d models, want %d", len(specs), len(wantNames))
	}
	for i, s := range specs {
		if s.Name != wantNames[i] {
			t.Errorf("model %d is %q, want %q", i, s.Name, wantNames[i])
		}
		t.Run(s.Name, func(t *testing.T) {
			b, err := s.Build()
			if err != nil {
				t.Fatal(err)
			}
			m := decode(t, b)
			if m.GetIrVersion() != 8 {
				t.Errorf("ir_version %d, want 8", m.GetIrVersion())
			}
			ops := m.GetOpsetImport()
			if len(ops) != 1 || ops[0].GetDomain() != "" || ops[0].GetVersion() != 13 {
				t.Errorf("opset_import %v, want the default domain at 13", ops)
			}
			checkBatchAxes(t, m.GetGraph())
			md, notes, err := onnxpb.Inspect(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(notes) != 0 {
				t.Errorf("Inspect notes: %q", notes)
			}
			if !reflect.DeepEqual(md, s.Metadata) {
				t.Errorf("Inspect:\n got %v\nwant %v", md, s.Metadata)
			}
		})
	}
}

// checkBatchAxes checks that axis 0 of every input and output is "batch".
func checkBatchAxes(t *testing.T, g *onnxpb.GraphProto) {
	t.Helper()
	for _, v := range append(append([]*onnxpb.ValueInfoProto{}, g.GetInput()...), g.GetOutput()...) {
		dims := v.GetType().GetTensorType().GetShape().GetDim()
		if len(dims) == 0 || dims[0].GetDimParam() != "batch" {
			t.Errorf("%q: axis 0 is %v, want dim_param \"batch\"", v.GetName(), dims)
		}
		for _, d := range dims[1:] {
			if d.GetDimValue() <= 0 {
				t.Errorf("%q: inner axis %v, want a fixed size", v.GetName(), d)
			}
		}
	}
}

func TestModelsDeterministic(t *testing.T) {
	first, second := Models(), Models()
	for i := range first {
		a, err := first[i].Build()
		if err != nil {
			t.Fatal(err)
		}
		b, err := second[i].Build()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two builds differ", first[i].Name)
		}
	}
	if !reflect.DeepEqual(NewMLP("m", 3, 5, 2, 7), NewMLP("m", 3, 5, 2, 7)) {
		t.Error("NewMLP with the same seed gave different weights")
	}
	if reflect.DeepEqual(NewMLP("m", 3, 5, 2, 7).W1, NewMLP("m", 3, 5, 2, 8).W1) {
		t.Error("NewMLP with different seeds gave the same weights")
	}
}

func TestWeightScale(t *testing.T) {
	m := MLPLarge()
	for name, w := range map[string][]float32{"W1": m.W1, "B1": m.B1} {
		checkBound(t, name, w, 0.5/math.Sqrt(float64(m.In)))
	}
	for name, w := range map[string][]float32{"W2": m.W2, "B2": m.B2} {
		checkBound(t, name, w, 0.5/math.Sqrt(float64(m.Hidden)))
	}
}

func checkBound(t *testing.T, name string, w []float32, bound float64) {
	t.Helper()
	for _, v := range w {
		if math.Abs(float64(v)) > bound {
			t.Fatalf("%s holds %g, beyond ±%g", name, v, bound)
		}
	}
}

// TestInitializers checks that the weights reach the file intact, as
// little-endian raw_data with the right dims.
func TestInitializers(t *testing.T) {
	m := MLPSmall()
	b, err := m.ONNX()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		dims []int64
		data []float32
	}{
		"W1": {[]int64{16, 64}, m.W1}, "B1": {[]int64{64}, m.B1},
		"W2": {[]int64{64, 4}, m.W2}, "B2": {[]int64{4}, m.B2},
	}
	inits := decode(t, b).GetGraph().GetInitializer()
	if len(inits) != len(want) {
		t.Fatalf("%d initializers, want %d", len(inits), len(want))
	}
	for _, init := range inits {
		w, ok := want[init.GetName()]
		if !ok {
			t.Errorf("unexpected initializer %q", init.GetName())
			continue
		}
		if init.GetDataType() != int32(onnxpb.TensorProto_FLOAT) || !reflect.DeepEqual(init.GetDims(), w.dims) {
			t.Errorf("%s: type %d dims %v, want FLOAT %v", init.GetName(), init.GetDataType(), init.GetDims(), w.dims)
		}
		if got := floatsOf(init.GetRawData()); !reflect.DeepEqual(got, w.data) {
			t.Errorf("%s: raw_data does not hold the weights", init.GetName())
		}
	}
}

func floatsOf(raw []byte) []float32 {
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}
