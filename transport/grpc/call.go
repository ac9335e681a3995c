package grpc

import (
	"context"
	"slices"
	"sync"

	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// A unary ModelInfer call's memory (the received message, the request read
// from it, the runtime request and the response) lives in one inferCall,
// taken from a pool by the method's handler and given back by the codec
// once the answer is marshaled. The request's raw contents are slices of
// the received message (wire.go), so the message's buffer goes back to
// gRPC's pool with the call. A call the runtime failed is not given back:
// a timed-out request may still sit in a batch that reads its tensors, so
// its memory is left to the collector (runtime/LOCKS.md, as HTTP's
// pooled requests are).
//
// Everything else (streams, the other methods, and a server with an
// interceptor) goes through the generated code and proto's codec.

// inferCall is one unary ModelInfer call.
type inferCall struct {
	msg     mem.Buffer // the received message, which wire.req's raw contents alias; nil once given back
	cost    int64      // what the call is charged against the in-flight budget (infer)
	refused error      // why the message was not decoded (checkExpansion); nil when it was
	wire    wireRequest
	d       decoded
	resp    pb.ModelInferResponse
}

var callPool = sync.Pool{New: func() any { return new(inferCall) }}

func getCall() *inferCall { return callPool.Get().(*inferCall) }

// putCall gives c back for a later call. Nothing may refer to c, its
// message, its request or its response afterwards.
func putCall(c *inferCall) {
	if c.msg != nil {
		c.msg.Free()
		c.msg = nil
	}
	c.refused, c.cost = nil, 0
	c.wire.release()
	if cap(c.d.req.Inputs) > pooledInputs {
		c.d.req.Inputs = nil
	}
	clear(c.d.req.Inputs)
	clear(c.d.req.Outputs)
	c.d.req.Inputs, c.d.req.Outputs = c.d.req.Inputs[:0], c.d.req.Outputs[:0]
	for _, t := range c.resp.Outputs {
		*t = pb.ModelInferResponse_InferOutputTensor{}
	}
	clear(c.resp.RawOutputContents)
	if len(c.resp.Outputs) > pooledInputs {
		c.resp.Outputs = nil
	}
	callPool.Put(c)
}

// modelInfer serves a unary ModelInfer call from a pooled inferCall; dec
// is gRPC's, which hands the received message to codec.Unmarshal.
func (s *Server) modelInfer(ctx context.Context, dec func(any) error) (any, error) {
	c := getCall()
	if err := dec(c); err != nil {
		putCall(c) // nothing reached the runtime
		return nil, err
	}
	if err := c.refused; err != nil {
		putCall(c)
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.infer(ctx, &c.wire.req, c.cost, &c.d, &c.resp); err != nil {
		return nil, rpcError(err) // c stays out of the pool: see above
	}
	return c, nil // codec.Marshal encodes c.resp, then gives c back
}

// inferenceService is GRPCInferenceService as generated, except that the
// unary ModelInfer goes to modelInfer when no interceptor is installed.
func inferenceService() *ggrpc.ServiceDesc {
	desc := pb.GRPCInferenceService_ServiceDesc
	desc.Methods = slices.Clone(desc.Methods)
	for i := range desc.Methods {
		if desc.Methods[i].MethodName != "ModelInfer" {
			continue
		}
		generated := desc.Methods[i].Handler
		desc.Methods[i].Handler = func(srv any, ctx context.Context, dec func(any) error, icpt ggrpc.UnaryServerInterceptor) (any, error) {
			if icpt != nil {
				return generated(srv, ctx, dec, icpt)
			}
			return srv.(*Server).modelInfer(ctx, dec)
		}
	}
	return &desc
}

// codec is the server's codec: gRPC's proto codec, except for an
// inferCall, whose request it reads with the fast path (wire.go) and whose
// response it marshals before giving the call back.
type codec struct{ proto encoding.CodecV2 }

func newCodec() codec { return codec{proto: encoding.GetCodecV2(grpcproto.Name)} }

func (c codec) Name() string { return c.proto.Name() }

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	call, ok := v.(*inferCall)
	if !ok {
		return c.proto.Marshal(v)
	}
	out, err := c.proto.Marshal(&call.resp)
	putCall(call) // answered: the runtime is done with its inputs
	return out, err
}

// Unmarshal refuses a ModelInferRequest that would decode to too much
// memory for its size (expand.go) before decoding it. A unary call's
// refusal is left in the call, so that its handler answers
// INVALID_ARGUMENT; gRPC itself reports a codec's error as INTERNAL, as
// it does for a stream's.
func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	switch v := v.(type) {
	case *inferCall:
		return c.unmarshalCall(data, v)
	case *pb.ModelInferRequest: // a stream's
		msg := data.MaterializeToBuffer(mem.DefaultBufferPool())
		defer msg.Free()
		if _, err := checkExpansion(msg.ReadOnlyData()); err != nil {
			return err
		}
		return proto.Unmarshal(msg.ReadOnlyData(), v)
	}
	return c.proto.Unmarshal(data, v)
}

// unmarshalCall reads a unary call's message with the fast path, else
// with proto.
func (c codec) unmarshalCall(data mem.BufferSlice, call *inferCall) error {
	msg := data.MaterializeToBuffer(mem.DefaultBufferPool()) // a reference, or one copy when it came in pieces
	b := msg.ReadOnlyData()
	var expanded int
	if expanded, call.refused = checkExpansion(b); call.refused != nil {
		msg.Free()
		return nil
	}
	call.cost = max(costFactor*int64(len(b)), int64(expanded))
	if call.wire.decode(b) {
		call.msg = msg
		return nil
	}
	err := proto.Unmarshal(b, &call.wire.req) // copies what it keeps
	msg.Free()
	return err
}
