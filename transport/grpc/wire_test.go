package grpc

import (
	"encoding/binary"
	"math"
	"testing"
	"unsafe"

	"google.golang.org/protobuf/proto"

	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// tritonRequest is a request as Triton's clients send it: raw contents,
// outputs asked for by name.
func tritonRequest() *pb.ModelInferRequest {
	raw := binary.LittleEndian.AppendUint32(nil, math.Float32bits(1.5))
	return &pb.ModelInferRequest{ModelName: "m", ModelVersion: "1", Id: "r1",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{
			{Name: "x", Datatype: "FP32", Shape: []int64{1, 1}},
			{Name: "s", Datatype: "BYTES", Shape: []int64{1}}},
		Outputs:          []*pb.ModelInferRequest_InferRequestedOutputTensor{{Name: "y"}},
		RawInputContents: [][]byte{raw, append(binary.LittleEndian.AppendUint32(nil, 1), 'z')}}
}

func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzWireDecode checks the fast path against proto: whatever it accepts,
// proto must accept and read the same, including after the reused request
// held another one.
func FuzzWireDecode(f *testing.F) {
	seeds := []*pb.ModelInferRequest{
		tritonRequest(),
		{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "INT32", Shape: []int64{2},
			Contents: &pb.InferTensorContents{IntContents: []int32{1, 2}}}}},
		{ModelName: "m", Parameters: map[string]*pb.InferParameter{"timeout": {ParameterChoice: &pb.InferParameter_Int64Param{Int64Param: 5}}}},
		{ModelName: "m2", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32"}}, RawInputContents: [][]byte{{}}},
	}
	for _, s := range seeds {
		f.Add(marshal(f, s))
	}
	f.Add([]byte{0x2a, 0x04, 0x1a, 0x02, 0x01, 0x02})        // an input with a packed shape
	f.Add([]byte{0x2a, 0x04, 0x18, 0x01, 0x18, 0x02})        // an input with an unpacked shape
	f.Add([]byte{0x0a, 0x02, 0xff, 0xfe})                    // a model name that is not UTF-8
	f.Add([]byte{0x3a, 0x05, 0x01})                          // raw contents past the end
	f.Add([]byte{0x32, 0x04, 0x0a, 0x02, 'y', 'y', 0x08, 1}) // an output, then a varint field
	prev := marshal(f, tritonRequest())
	f.Fuzz(func(t *testing.T, b []byte) {
		var w wireRequest
		if !w.decode(prev) {
			t.Fatal("the fast path refused a Triton request")
		}
		b = append([]byte(nil), b...)
		_, _ = checkExpansion(b) // must not panic on any bytes
		if !w.decode(b) {
			return
		}
		var want pb.ModelInferRequest
		if err := proto.Unmarshal(b, &want); err != nil {
			t.Fatalf("the fast path accepted what proto refuses (%v)", err)
		}
		if !proto.Equal(&w.req, &want) {
			t.Fatalf("fast path read\n%v\nproto read\n%v", &w.req, &want)
		}
	})
}

// TestWireDecodeInPlace checks that raw contents are slices of the message
// and that a request like the last one reuses everything.
func TestWireDecodeInPlace(t *testing.T) {
	b := marshal(t, tritonRequest())
	var w wireRequest
	if !w.decode(b) {
		t.Fatal("the fast path refused a Triton request")
	}
	lo, hi := uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&b[len(b)-1]))
	for i, raw := range w.req.RawInputContents {
		if p := uintptr(unsafe.Pointer(&raw[0])); p < lo || p > hi {
			t.Errorf("raw_input_contents[%d] was copied out of the message", i)
		}
	}
	w.release()
	allocs := testing.AllocsPerRun(100, func() {
		if !w.decode(b) {
			t.Fatal("refused")
		}
		w.release()
	})
	if allocs != 0 {
		t.Errorf("decoding the same request again allocated %v times, want 0", allocs)
	}
}
