package bench

import (
	"context"
	"net"

	"google.golang.org/grpc"

	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// BareGRPC is Bare's gRPC counterpart: a grpc-go server with the V2
// service, stock options and protobuf's codec, that answers any model's
// metadata as Bare does and every ModelInfer with the same small fixed
// response, running no model. It is the ceiling of a gRPC server on this
// box for the same client: what a gRPC request costs before tiffin does
// anything, so that the server-side overhead of tiffin's gRPC front end is
// measured against gRPC, not against HTTP.
type BareGRPC struct {
	srv *grpc.Server
	ln  net.Listener
}

// StartBareGRPC listens on addr (such as 127.0.0.1:0) and serves until
// Close.
func StartBareGRPC(addr string) (*BareGRPC, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	b := &BareGRPC{ln: ln, srv: grpc.NewServer()}
	pb.RegisterGRPCInferenceServiceServer(b.srv, bareService{})
	go b.srv.Serve(ln) //nolint:errcheck // Serve returns when Close stops the server
	return b, nil
}

// Addr is the address the server listens on.
func (b *BareGRPC) Addr() string { return b.ln.Addr().String() }

// Close stops the server.
func (b *BareGRPC) Close() { b.srv.Stop() }

type bareService struct {
	pb.UnimplementedGRPCInferenceServiceServer
}

func (bareService) ServerLive(context.Context, *pb.ServerLiveRequest) (*pb.ServerLiveResponse, error) {
	return &pb.ServerLiveResponse{Live: true}, nil
}

func (bareService) ServerReady(context.Context, *pb.ServerReadyRequest) (*pb.ServerReadyResponse, error) {
	return &pb.ServerReadyResponse{Ready: true}, nil
}

func (bareService) ModelReady(context.Context, *pb.ModelReadyRequest) (*pb.ModelReadyResponse, error) {
	return &pb.ModelReadyResponse{Ready: true}, nil
}

// ModelMetadata answers mlp-small's signature, as Bare does.
func (bareService) ModelMetadata(_ context.Context, r *pb.ModelMetadataRequest) (*pb.ModelMetadataResponse, error) {
	return &pb.ModelMetadataResponse{Name: r.GetName(), Versions: []string{"1"}, Platform: "bare",
		Inputs:  []*pb.ModelMetadataResponse_TensorMetadata{{Name: "input", Datatype: "FP32", Shape: []int64{-1, 16}}},
		Outputs: []*pb.ModelMetadataResponse_TensorMetadata{{Name: "output", Datatype: "FP32", Shape: []int64{-1, 4}}},
	}, nil
}

// bareInferResponse is every ModelInfer's answer: four FP32 zeros as raw
// contents. Marshalling only reads it, so calls share it.
var bareInferResponse = &pb.ModelInferResponse{ModelName: "bare", ModelVersion: "1",
	Outputs:           []*pb.ModelInferResponse_InferOutputTensor{{Name: "output", Datatype: "FP32", Shape: []int64{1, 4}}},
	RawOutputContents: [][]byte{make([]byte, 16)},
}

func (bareService) ModelInfer(context.Context, *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	return bareInferResponse, nil
}
