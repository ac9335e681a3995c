package runtime

import (
	"bytes"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
)

func rowsTensor(name string, rows int64, width int64, fill byte) backends.Tensor {
	t := fp32(name, rows, width)
	for i := range t.Data {
		t.Data[i] = fill + byte(i/int(4*width))
	}
	return t
}

func TestConcatScatterRoundTrip(t *testing.T) {
	jobs := []*job{
		{rows: 2, req: &InferRequest{Inputs: []backends.Tensor{rowsTensor("x", 2, 3, 10), {Name: "s", DataType: backends.Bytes, Shape: []int64{2}, Strings: [][]byte{[]byte("a"), []byte("b")}}}}},
		{rows: 1, req: &InferRequest{Inputs: []backends.Tensor{rowsTensor("x", 1, 3, 20), {Name: "s", DataType: backends.Bytes, Shape: []int64{1}, Strings: [][]byte{[]byte("c")}}}}},
		{rows: 3, req: &InferRequest{Inputs: []backends.Tensor{rowsTensor("x", 3, 3, 30), {Name: "s", DataType: backends.Bytes, Shape: []int64{3}, Strings: [][]byte{[]byte("d"), []byte("e"), []byte("f")}}}}},
	}
	in := concatInputs(jobs)
	if in[0].Shape[0] != 6 || len(in[0].Data) != 6*3*4 || len(in[1].Strings) != 6 {
		t.Fatalf("concat: shape %v, %d bytes, %d strings", in[0].Shape, len(in[0].Data), len(in[1].Strings))
	}
	if err := in[0].Check(); err != nil {
		t.Fatal(err)
	}
	// An identity "model": the outputs are the inputs.
	per := scatterOutputs(jobs, in)
	for k, j := range jobs {
		for i := range in {
			got, want := per[k][i], j.req.Inputs[i]
			if got.Shape[0] != want.Shape[0] || !bytes.Equal(got.Data, want.Data) || len(got.Strings) != len(want.Strings) {
				t.Fatalf("job %d output %d: got shape %v, want %v", k, i, got.Shape, want.Shape)
			}
			for s := range got.Strings {
				if !bytes.Equal(got.Strings[s], want.Strings[s]) {
					t.Fatalf("job %d string %d: %q != %q", k, s, got.Strings[s], want.Strings[s])
				}
			}
		}
	}
	if err := checkBatchAxis(jobs, in); err != nil {
		t.Fatal(err)
	}
	bad := []backends.Tensor{fp32("y", 5, 1)}
	if err := checkBatchAxis(jobs, bad); err == nil {
		t.Fatal("an output with the wrong row count passed")
	}
}
