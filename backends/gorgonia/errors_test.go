package gorgonia

import (
	"context"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/modelgen"
	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

// mustFail loads data and checks that Load fails with an error containing
// every one of wants.
func mustFail(t *testing.T, name string, data []byte, wants ...string) {
	t.Helper()
	m, err := loadErr(t, New(Options{Logger: quiet}), name, data)
	if err == nil {
		m.Close()
		t.Fatalf("Load %s succeeded, want an error", name)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Load %s: error %q does not contain %q", name, err, w)
		}
	}
}

func TestLoadRefusals(t *testing.T) {
	relu := func() *testGraph {
		return newTestGraph().input("x", -1, 4).output("y", -1, 4).node("Relu", []string{"x"}, []string{"h"})
	}
	t.Run("unsupported-op", func(t *testing.T) {
		g := relu()
		g.g.Node = append(g.g.Node, &onnxpb.NodeProto{Name: "resize_1", OpType: "Resize", Input: []string{"h"}, Output: []string{"y"}})
		mustFail(t, "x", g.bytes(t), `model "x": node 1 ("resize_1"): op Resize is not supported by the gorgonia backend`)
	})
	t.Run("unnamed-node", func(t *testing.T) {
		g := newTestGraph().input("x", -1, 4).output("y", -1, 4)
		g.g.Node = []*onnxpb.NodeProto{{OpType: "RNN", Input: []string{"x"}, Output: []string{"y"}}}
		mustFail(t, "m", g.bytes(t), `model "m": node 0: op RNN is not supported`)
	})
	t.Run("other-domain", func(t *testing.T) {
		g := newTestGraph().input("x", -1, 4).output("y", -1, 4)
		g.g.Node = []*onnxpb.NodeProto{{Name: "fused", Domain: "com.microsoft", OpType: "Relu", Input: []string{"x"}, Output: []string{"y"}}}
		mustFail(t, "m", g.bytes(t), `node 0 ("fused"): op com.microsoft.Relu is not supported`)
	})
	t.Run("unsupported-attribute", func(t *testing.T) {
		g := newTestGraph().input("x", -1, 2, 4, 4).output("y", -1, 2, 2, 2).init("w", []int64{2, 1, 3, 3}, make([]float32, 18)...).
			node("Conv", []string{"x", "w"}, []string{"y"}, aInt("group", 2), aStr("auto_pad", "SAME_MIDDLE"))
		g.g.Node[0].Name = "conv_1"
		mustFail(t, "m", g.bytes(t), `model "m": node 0 ("conv_1"): Conv: auto_pad "SAME_MIDDLE" is not supported`)
	})
	t.Run("second-output", func(t *testing.T) {
		g := newTestGraph().input("x", -1, 2, 4, 4).output("y", -1, 2, 2, 2).
			node("MaxPool", []string{"x"}, []string{"y", "indices"}, aInts("kernel_shape", 2, 2), aInts("strides", 2, 2))
		mustFail(t, "m", g.bytes(t), `MaxPool: output 1 ("indices") is not supported`)
	})
	t.Run("fp64-input", func(t *testing.T) {
		// Inputs a (FP32) and b (INT32, a build-time constant) pass; c is
		// FP64.
		b, err := modelgen.NewMultiIO().ONNX()
		if err != nil {
			t.Fatal(err)
		}
		mustFail(t, "multi-io", b, `model "multi-io": input "c" has datatype FP64; the gorgonia backend supports FP32, and INT64 and INT32 as build-time constants`)
	})
	t.Run("sequence-input", func(t *testing.T) {
		g := relu()
		g.g.Input[0].Type = &onnxpb.TypeProto{Value: &onnxpb.TypeProto_SequenceType{SequenceType: &onnxpb.TypeProto_Sequence{
			ElemType: valueInfo("", onnxpb.TensorProto_FLOAT, []int64{4}).GetType()}}}
		mustFail(t, "m", g.bytes(t), `input "x" skipped: type seq(tensor(float)) is not a tensor`, "takes and returns tensors only")
	})
	t.Run("non-fp32-output", func(t *testing.T) {
		g := relu()
		g.g.Output[0] = valueInfo("y", onnxpb.TensorProto_DOUBLE, []int64{-1, 4})
		mustFail(t, "m", g.bytes(t), `output "y" has datatype FP64`)
	})
	t.Run("unsupported-initializer-type", func(t *testing.T) {
		g := newTestGraph().input("x", -1, 4).output("y", -1, 4).node("Add", []string{"x", "h"}, []string{"y"})
		g.g.Initializer = []*onnxpb.TensorProto{{Name: "h", DataType: int32(onnxpb.TensorProto_FLOAT16), Dims: []int64{4}, RawData: make([]byte, 8)}}
		mustFail(t, "m", g.bytes(t), `node 0 ("Add_node"): Add: input tensor "h": element type float16 is not supported`)
	})
	t.Run("undefined-input", func(t *testing.T) {
		g := newTestGraph().input("x", -1, 4).output("y", -1, 4).node("Add", []string{"x", "nowhere"}, []string{"y"})
		mustFail(t, "m", g.bytes(t), `input "nowhere" is not defined`)
	})
	t.Run("shape-error", func(t *testing.T) {
		g := newTestGraph().input("x", -1, 4).output("y", -1, 3).init("w", []int64{3, 3}, make([]float32, 9)...).
			node("MatMul", []string{"x", "w"}, []string{"y"})
		mustFail(t, "m", g.bytes(t), `node 0 ("MatMul_node"): MatMul: shapes (1, 4) and (3, 3) do not multiply`)
	})
	t.Run("not-onnx", func(t *testing.T) {
		mustFail(t, "m", []byte("not a model"), `model "m": decoding the ONNX model`)
	})
}

func TestLoadGPURefused(t *testing.T) {
	_, err := New(Options{}).Load(context.Background(), backends.LoadSpec{Model: "g", Path: "x.onnx", Device: backends.Device{Kind: backends.GPU}})
	if err == nil || !strings.Contains(err.Error(), `model "g": the gorgonia backend runs on the CPU only, not on gpu`) {
		t.Fatalf("Load = %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := New(Options{}).Load(context.Background(), backends.LoadSpec{Model: "gone", Path: "/nonexistent/model.onnx"})
	if err == nil || !strings.Contains(err.Error(), `model "gone"`) {
		t.Fatalf("Load = %v, want an error naming the model", err)
	}
}

func TestRunErrors(t *testing.T) {
	d := demoModels()[0] // mlp-small, input FP32[-1,16]
	m := load(t, New(Options{Logger: quiet}), d.name, d.bytes(t))
	good := d.input(2, 1)
	for _, c := range []struct {
		name   string
		inputs []backends.Tensor
		want   string
	}{
		{"wrong-width", []backends.Tensor{fp32("input", []int64{2, 15}, make([]float32, 30)...)}, `input "input": shape [2 15] does not fit model shape [-1 16]`},
		{"wrong-rank", []backends.Tensor{fp32("input", []int64{32}, make([]float32, 32)...)}, `shape [32] does not fit`},
		{"wrong-datatype", []backends.Tensor{{Name: "input", DataType: backends.FP64, Shape: []int64{1, 16}, Data: make([]byte, 128)}}, "datatype FP64"},
		{"wrong-name", []backends.Tensor{{Name: "image", DataType: backends.FP32, Shape: good.Shape, Data: good.Data}}, `input 0 is "image"`},
		{"short-data", []backends.Tensor{{Name: "input", DataType: backends.FP32, Shape: []int64{2, 16}, Data: make([]byte, 12)}}, "needs 128 bytes"},
		{"no-inputs", nil, "got 0 inputs, model has 1"},
		{"empty-batch", []backends.Tensor{fp32("input", []int64{0, 16})}, `node 0 ("Gemm_0"): Gemm: an empty tensor (shape [0 16]) reaches an op that computes in the graph; the gorgonia backend does not run empty tensors`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.Run(context.Background(), c.inputs)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `model "mlp-small"`) {
				t.Fatalf("Run = %v, want an error naming the model and containing %q", err, c.want)
			}
		})
	}
	// The instance still works after the refusals.
	run(t, m, good)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Run(ctx, []backends.Tensor{good}); err == nil {
		t.Error("Run with a cancelled context succeeded")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(context.Background(), []backends.Tensor{good}); err == nil || !strings.Contains(err.Error(), "after close") {
		t.Errorf("Run after Close = %v", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestRunShapeErrorFromGraph feeds a dynamic non-batch axis a size that the
// graph cannot take: the build fails at Run with an error naming the node,
// and no panic.
func TestRunShapeErrorFromGraph(t *testing.T) {
	g := newTestGraph().input("x", -1, -1).output("y", -1, 3).init("w", []int64{4, 3}, make([]float32, 12)...).
		node("MatMul", []string{"x", "w"}, []string{"y"})
	m := load(t, New(Options{Logger: quiet}), "dyn", g.bytes(t)) // the probe (1x1) fails, Load does not
	run(t, m, fp32("x", []int64{2, 4}, make([]float32, 8)...))
	_, err := m.Run(context.Background(), []backends.Tensor{fp32("x", []int64{2, 5}, make([]float32, 10)...)})
	if err == nil || !strings.Contains(err.Error(), `model "dyn": node 0 ("MatMul_node"): MatMul: shapes (2, 5) and (4, 3) do not multiply`) {
		t.Fatalf("Run = %v", err)
	}
}
