package runtime

import (
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
)

func fp32(name string, shape ...int64) backends.Tensor {
	n := backends.NumElements(shape)
	return backends.Tensor{Name: name, DataType: backends.FP32, Shape: shape, Data: make([]byte, 4*n)}
}

func TestValidate(t *testing.T) {
	sig := &Signature{
		Inputs: []backends.TensorSpec{
			{Name: "a", DataType: backends.FP32, Shape: []int64{-1, 4}},
			{Name: "b", DataType: backends.FP32, Shape: []int64{-1, 2}},
		},
		Outputs:      []backends.TensorSpec{{Name: "y", DataType: backends.FP32, Shape: []int64{-1, 1}}},
		MaxBatchSize: 8,
	}
	short := fp32("a", 2, 4)
	short.Data = short.Data[:31]
	tests := []struct {
		name    string
		inputs  []backends.Tensor
		outputs []string
		rows    int64
		err     string
	}{
		{"ok, reordered", []backends.Tensor{fp32("b", 3, 2), fp32("a", 3, 4)}, nil, 3, ""},
		{"unknown input", []backends.Tensor{fp32("a", 1, 4), fp32("c", 1, 2)}, nil, 0, `unknown input "c" for model m (inputs: a, b)`},
		{"missing input", []backends.Tensor{fp32("a", 1, 4)}, nil, 0, `missing input "b"`},
		{"twice", []backends.Tensor{fp32("a", 1, 4), fp32("a", 1, 4)}, nil, 0, `input "a" given twice`},
		{"datatype", []backends.Tensor{{Name: "a", DataType: backends.Int32, Shape: []int64{1, 4}, Data: make([]byte, 16)}, fp32("b", 1, 2)}, nil, 0, `input "a" has datatype INT32, model m expects FP32`},
		{"rank", []backends.Tensor{fp32("a", 4), fp32("b", 1, 2)}, nil, 0, `input "a" has shape [4], model m expects [-1 4]`},
		{"fixed dim", []backends.Tensor{fp32("a", 1, 5), fp32("b", 1, 2)}, nil, 0, `input "a" has shape [1 5]`},
		{"batch too big", []backends.Tensor{fp32("a", 9, 4), fp32("b", 9, 2)}, nil, 0, `batch size 9; model m takes 1 to 8`},
		{"batch mismatch", []backends.Tensor{fp32("a", 2, 4), fp32("b", 3, 2)}, nil, 0, `must share the batch size`},
		{"element count", []backends.Tensor{short, fp32("b", 2, 2)}, nil, 0, `needs 32 bytes, got 31`},
		{"unknown output", []backends.Tensor{fp32("a", 1, 4), fp32("b", 1, 2)}, []string{"z"}, 0, `unknown output "z" for model m (outputs: y)`},
		{"output twice", []backends.Tensor{fp32("a", 1, 4), fp32("b", 1, 2)}, []string{"y", "y"}, 0, `output "y" requested twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &InferRequest{Inputs: tt.inputs, Outputs: tt.outputs}
			rows, err := sig.Validate("m", req)
			if tt.err == "" {
				if err != nil || rows != tt.rows {
					t.Fatalf("rows %d err %v, want %d", rows, err, tt.rows)
				}
				if req.Inputs[0].Name != "a" || req.Inputs[1].Name != "b" {
					t.Fatalf("inputs not in signature order: %s, %s", req.Inputs[0].Name, req.Inputs[1].Name)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err %v, want one containing %q", err, tt.err)
			}
			if KindOf(err) != KindInvalidArgument {
				t.Fatalf("kind %v, want invalid argument", KindOf(err))
			}
		})
	}
}

func TestValidateNonBatching(t *testing.T) {
	sig := &Signature{Inputs: []backends.TensorSpec{{Name: "x", DataType: backends.FP32, Shape: []int64{3, -1}}},
		Outputs: []backends.TensorSpec{{Name: "y", DataType: backends.FP32, Shape: []int64{3}}}}
	rows, err := sig.Validate("m", &InferRequest{Inputs: []backends.Tensor{fp32("x", 3, 7)}})
	if err != nil || rows != 1 {
		t.Fatalf("rows %d err %v", rows, err)
	}
	if _, err := sig.Validate("m", &InferRequest{Inputs: []backends.Tensor{fp32("x", 2, 7)}}); err == nil {
		t.Fatal("a wrong fixed first axis passed")
	}
}

// A BYTES element holding a NUL byte is refused on its own when the
// backend cannot take one, before the request joins anyone's batch; other
// backends get it whole.
func TestValidateNULInStrings(t *testing.T) {
	in := backends.Tensor{Name: "s", DataType: backends.Bytes, Shape: []int64{1, 2}, Strings: [][]byte{[]byte("ok"), []byte("a\x00b")}}
	for _, refuse := range []bool{true, false} {
		sig := &Signature{Inputs: []backends.TensorSpec{{Name: "s", DataType: backends.Bytes, Shape: []int64{-1, -1}}},
			Outputs: []backends.TensorSpec{{Name: "y", DataType: backends.Bytes, Shape: []int64{-1, -1}}}, MaxBatchSize: 4, NoNULInStrings: refuse}
		_, err := sig.Validate("m", &InferRequest{Inputs: []backends.Tensor{in}})
		switch {
		case refuse && (KindOf(err) != KindInvalidArgument || !strings.Contains(err.Error(), `input "s": element 1 holds a NUL byte`)):
			t.Fatalf("refusing: %v, want element 1 named", err)
		case !refuse && err != nil:
			t.Fatalf("taking NULs: %v", err)
		}
	}
}
