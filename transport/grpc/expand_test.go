package grpc

import (
	"fmt"
	goruntime "runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// allocated is how many bytes proto.Unmarshal allocates for b.
func allocated(t *testing.T, b []byte) int {
	t.Helper()
	var before, after goruntime.MemStats
	var m pb.ModelInferRequest
	goruntime.GC()
	goruntime.ReadMemStats(&before)
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	goruntime.ReadMemStats(&after)
	goruntime.KeepAlive(&m)
	return int(after.TotalAlloc - before.TotalAlloc)
}

// TestExpandedSizeTracksProto checks the estimate against what proto
// really allocates, for the shapes that expand most and for ordinary
// requests, and that only the first kind is refused.
func TestExpandedSizeTracksProto(t *testing.T) {
	many := func(n int, f func(i int) *pb.ModelInferRequest_InferInputTensor) []*pb.ModelInferRequest_InferInputTensor {
		in := make([]*pb.ModelInferRequest_InferInputTensor, n)
		for i := range in {
			in[i] = f(i)
		}
		return in
	}
	params := map[string]*pb.InferParameter{}
	for i := range 50000 {
		params[fmt.Sprint(i)] = &pb.InferParameter{}
	}
	strs := make([][]byte, 200000)
	for i := range strs {
		strs[i] = []byte{'a'}
	}
	long := make([][]byte, 2000)
	for i := range long {
		long[i] = make([]byte, 500)
	}
	cases := []struct {
		name    string
		req     *pb.ModelInferRequest
		refused bool
	}{
		{"100k empty inputs", &pb.ModelInferRequest{Inputs: many(100000, func(int) *pb.ModelInferRequest_InferInputTensor {
			return &pb.ModelInferRequest_InferInputTensor{}
		})}, true},
		{"50k parameters (16x)", &pb.ModelInferRequest{Parameters: params}, false},
		{"100k outputs", &pb.ModelInferRequest{Outputs: make([]*pb.ModelInferRequest_InferRequestedOutputTensor, 100000)}, true},
		{"Triton's form, 1 MiB raw", &pb.ModelInferRequest{ModelName: "m", Inputs: many(2, func(int) *pb.ModelInferRequest_InferInputTensor {
			return &pb.ModelInferRequest_InferInputTensor{Name: "x", Datatype: "FP32", Shape: []int64{1024, 128}}
		}), RawInputContents: [][]byte{make([]byte, 1<<19), make([]byte, 1<<19)}}, false},
		{"typed int64, 1M small values", &pb.ModelInferRequest{Inputs: many(1, func(int) *pb.ModelInferRequest_InferInputTensor {
			return &pb.ModelInferRequest_InferInputTensor{Name: "x", Datatype: "INT64", Shape: []int64{1 << 20},
				Contents: &pb.InferTensorContents{Int64Contents: make([]int64, 1<<20)}}
		})}, false},
		{"typed BYTES, 200k one-byte strings", &pb.ModelInferRequest{Inputs: many(1, func(int) *pb.ModelInferRequest_InferInputTensor {
			return &pb.ModelInferRequest_InferInputTensor{Name: "s", Datatype: "BYTES", Shape: []int64{200000},
				Contents: &pb.InferTensorContents{BytesContents: strs}}
		})}, true},
		{"typed BYTES, 2k strings of 500 bytes", &pb.ModelInferRequest{Inputs: many(1, func(int) *pb.ModelInferRequest_InferInputTensor {
			return &pb.ModelInferRequest_InferInputTensor{Name: "s", Datatype: "BYTES", Shape: []int64{2000},
				Contents: &pb.InferTensorContents{BytesContents: long}}
		})}, false},
	}
	for i := range cases[2].req.Outputs {
		cases[2].req.Outputs[i] = &pb.ModelInferRequest_InferRequestedOutputTensor{}
	}
	for _, c := range cases {
		b := marshal(t, c.req)
		est, ok := expandedSize(b)
		if !ok {
			t.Fatalf("%s: could not walk a valid message", c.name)
		}
		got := allocated(t, b)
		if est < got/2 || est > 4*got+4096 {
			t.Errorf("%s: estimated %d bytes decoded, proto allocated %d", c.name, est, got)
		}
		_, err := checkExpansion(b)
		if (err != nil) != c.refused {
			t.Errorf("%s (%d bytes, %d decoded): refused = %v, want %v", c.name, len(b), got, err, c.refused)
		}
		if err != nil && !strings.Contains(err.Error(), "once decoded") {
			t.Errorf("%s: the error does not say what is wrong: %v", c.name, err)
		}
	}
}
