package grpc

import (
	"encoding/binary"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// FuzzDecodeRequest feeds arbitrary ModelInferRequest bytes to the decoder:
// it must never panic. Sizes are the runtime's to check (Signature.Validate
// calls Tensor.Check), so an accepted tensor need not be consistent yet,
// but checking it must not panic either.
func FuzzDecodeRequest(f *testing.F) {
	raw := binary.LittleEndian.AppendUint32(nil, math.Float32bits(1.5))
	seeds := []*pb.ModelInferRequest{
		{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{1, 1}}},
			RawInputContents: [][]byte{raw}},
		{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "INT32", Shape: []int64{2},
			Contents: &pb.InferTensorContents{IntContents: []int32{1, 2}}}}},
		{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "s", Datatype: "BYTES", Shape: []int64{1}}},
			RawInputContents: [][]byte{append(binary.LittleEndian.AppendUint32(nil, 1), 'z')}},
	}
	for _, s := range seeds {
		b, err := proto.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var req pb.ModelInferRequest
		if proto.Unmarshal(b, &req) != nil {
			return
		}
		var d decoded
		if decodeRequest(&req, nil, &d) != nil {
			return
		}
		for i := range d.req.Inputs {
			_ = d.req.Inputs[i].Check()
		}
	})
}
