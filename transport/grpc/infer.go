package grpc

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	otelcodes "go.opentelemetry.io/otel/codes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/transport"

	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// costFactor is how many bytes a request is charged against the in-flight
// budget per byte of its message: the message and the tensors decoded from
// it (typed contents become new buffers; raw contents are used in place).
// A unary call whose message decodes to more (expand.go) is charged that.
const costFactor = 2

// ModelInfer runs one inference. The call's context goes to the runtime:
// a call cancelled or past its deadline leaves the model's queue unrun.
// The server itself serves unary calls through modelInfer (call.go), which
// reuses their memory; this is the same inference, for the interface.
func (s *Server) ModelInfer(ctx context.Context, req *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	out := new(pb.ModelInferResponse)
	if err := s.infer(ctx, req, 0, new(decoded), out); err != nil {
		return nil, rpcError(err)
	}
	return out, nil
}

// infer runs req, charging cost bytes against the in-flight budget (0:
// costFactor times its size), decoding it into d and answering into out.
func (s *Server) infer(ctx context.Context, req *pb.ModelInferRequest, cost int64, d *decoded, out *pb.ModelInferResponse) (err error) {
	start := time.Now()
	ctx, span := transport.StartInferSpan(ctx, incomingCarrier{ctx}, "grpc", req.GetModelName())
	var answered int64
	defer func() {
		code := codes.OK
		if err != nil {
			code = transport.GRPCCode(err)
			span.SetStatus(otelcodes.Error, err.Error())
		}
		span.End()
		if s.opts.Observer != nil {
			s.opts.Observer.ObserveRequest(req.GetModelName(), answered, "grpc", code.String(), time.Since(start))
		}
	}()
	if err := s.opts.Access.AuthorizeInference(authorization(ctx)); err != nil {
		return err
	}
	// Find the model before decoding, and check shapes against it before
	// any tensor is allocated; hold the message's bytes against the
	// in-flight budget while it is decoded and runs.
	version, err := transport.ParseVersion(req.GetModelVersion())
	if err != nil {
		return err
	}
	// A model that is not READY is refused for that (503), before its
	// signature, which an UNAVAILABLE model may not have, is checked.
	v, err := transport.ReadyVersion(s.models, req.GetModelName(), version)
	if err != nil {
		return err
	}
	if cost == 0 {
		cost = costFactor * int64(proto.Size(req))
	}
	if err := s.opts.Budget.Reserve(cost); err != nil {
		return err
	}
	defer s.opts.Budget.Release(cost)
	// BYTES elements cost far more than their bytes once decoded: charged
	// once their count is known, before any is decoded.
	var strs int64
	defer func() { s.opts.Budget.Release(strs) }()
	check := func(in []backends.Tensor) error {
		if err := v.Sig.CheckShapes(v.Name, in); err != nil {
			return err
		}
		size := 0 // the message's own size, measured only when there are strings to weigh against it
		if slices.ContainsFunc(in, func(t backends.Tensor) bool { return t.DataType == backends.Bytes }) {
			size = proto.Size(req)
		}
		var err error
		strs, err = transport.ChargeStrings(s.opts.Budget, in, size, cost)
		return err
	}
	if err := decodeRequest(req, check, d); err != nil {
		return err
	}
	resp, err := s.models.Infer(ctx, &d.req)
	if err != nil {
		return err
	}
	answered = resp.Version
	encodeResponse(out, resp)
	return nil
}

// incomingCarrier lets the trace propagator read the call's incoming
// metadata, one key at a time: metadata.FromIncomingContext would copy
// all of it on every call, traced or not.
type incomingCarrier struct{ ctx context.Context }

func (c incomingCarrier) Get(key string) string {
	if v := metadata.ValueFromIncomingContext(c.ctx, key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set does nothing: incoming metadata is read-only, and extracting a
// trace context never sets.
func (incomingCarrier) Set(string, string) {}

func (c incomingCarrier) Keys() []string {
	md, _ := metadata.FromIncomingContext(c.ctx)
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	return keys
}

// ModelStreamInfer answers each request of a stream with one response
// message. Requests of one stream run concurrently (up to
// Options.StreamConcurrency at once), so they can share batches, and their
// responses may come back in another order than the requests went: match
// them by id. A failed request is answered with its error_message, and the
// stream goes on.
//
// A stream opened with the header triton_grpc_error: true is ended at its
// first failed request instead, with that error's gRPC code and message,
// as Triton does; its other requests are cancelled and their answers
// dropped.
func (s *Server) ModelStreamInfer(stream pb.GRPCInferenceService_ModelStreamInferServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	st := &streamState{stream: stream, ctx: ctx, slots: make(chan struct{}, s.opts.StreamConcurrency)}
	if v := metadata.ValueFromIncomingContext(ctx, grpcErrorHeader); len(v) > 0 && strings.EqualFold(v[0], "true") {
		st.failed = make(chan struct{})
		st.cancel = cancel
	}
	received := make(chan error, 1)
	go func() { received <- s.receive(st) }()
	var err error
	select {
	case err = <-received:
		st.wg.Wait()
	case <-st.failed: // nil unless triton_grpc_error was asked for
		// The stream ends now: Recv then fails, and requests still
		// running find ctx cancelled and send nothing.
		return st.closeErr
	}
	st.sendMu.Lock()
	defer st.sendMu.Unlock()
	if st.closeErr != nil {
		return st.closeErr
	}
	if err == nil {
		err = st.sendErr
	}
	return err
}

// grpcErrorHeader is the header by which a client asks that a stream end
// with a gRPC status at its first error (Triton's "gRPC status codes").
const grpcErrorHeader = "triton_grpc_error"

// streamState is one stream's requests in flight and its one sender.
type streamState struct {
	stream   pb.GRPCInferenceService_ModelStreamInferServer
	ctx      context.Context // the stream's, cancelled when it ends
	wg       sync.WaitGroup
	slots    chan struct{}      // a token per request in flight
	failed   chan struct{}      // with triton_grpc_error: closed at the first failed request; nil otherwise
	cancel   context.CancelFunc // with triton_grpc_error: cancels ctx
	sendMu   sync.Mutex         // protects: stream.Send, sendErr, closeErr
	sendErr  error
	closeErr error // the status the stream ended with, at its first failed request
}

func (st *streamState) send(m *pb.ModelStreamInferResponse) {
	st.sendMu.Lock()
	defer st.sendMu.Unlock()
	if st.sendErr == nil && st.closeErr == nil {
		st.sendErr = st.stream.Send(m)
	}
}

// fail ends a triton_grpc_error stream with err's status, once: nothing
// more is sent, and the handler returns it.
func (st *streamState) fail(err error) {
	st.sendMu.Lock()
	defer st.sendMu.Unlock()
	if st.closeErr != nil {
		return
	}
	st.closeErr = err
	st.cancel()
	close(st.failed)
}

// receive reads requests until the client closes its side, starting each
// once a slot is free.
func (s *Server) receive(st *streamState) error {
	ctx := st.ctx
	for {
		req, err := st.stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case st.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		st.wg.Add(1)
		go func() {
			defer func() { <-st.slots; st.wg.Done() }()
			m, err := s.streamOne(ctx, req)
			if err != nil && st.failed != nil {
				st.fail(err)
				return
			}
			st.send(m)
		}()
	}
}

// streamOne runs one request of a stream and returns its answer; a failed
// one is answered with its error_message, and its error is also returned
// as a gRPC status, with the same message, for a triton_grpc_error stream.
func (s *Server) streamOne(ctx context.Context, req *pb.ModelInferRequest) (*pb.ModelStreamInferResponse, error) {
	resp := new(pb.ModelInferResponse)
	if err := s.infer(ctx, req, 0, new(decoded), resp); err != nil {
		msg := transport.Public(err.Error())
		if id := req.GetId(); id != "" {
			// Answers come out of order and tritonclient drops the
			// response (and so its id) of a failed one: the message
			// names the request, as Triton's does.
			msg = "[request id: " + id + "] " + msg
		}
		return &pb.ModelStreamInferResponse{ErrorMessage: msg,
				InferResponse: final(&pb.ModelInferResponse{ModelName: req.GetModelName(), ModelVersion: req.GetModelVersion(), Id: req.GetId()})},
			status.Error(transport.GRPCCode(err), msg)
	}
	return &pb.ModelStreamInferResponse{InferResponse: final(resp)}, nil
}

// finalParam is the parameter by which Triton marks the last response to a
// streamed request. Triton sets it on every stream response, true on a
// request's last; a client that streams to decoupled models reads it to
// know when a request is done, and waits for it with the rest. tiffin
// answers each request once, so each answer is its last.
const finalParam = "triton_final_response"

// final marks a stream response as its request's last.
func final(r *pb.ModelInferResponse) *pb.ModelInferResponse {
	if r.Parameters == nil {
		r.Parameters = make(map[string]*pb.InferParameter, 1)
	}
	r.Parameters[finalParam] = &pb.InferParameter{ParameterChoice: &pb.InferParameter_BoolParam{BoolParam: true}}
	return r
}
