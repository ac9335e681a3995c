package grpc_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/tiffin-ml/tiffin/backends/backendtest"
	"github.com/tiffin-ml/tiffin/runtime/config"
	"github.com/tiffin-ml/tiffin/transport"
	grpct "github.com/tiffin-ml/tiffin/transport/grpc"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
	"github.com/tiffin-ml/tiffin/transport/internal/transporttest"
)

// These tests serve the fake backend through a real Manager and a real
// gRPC server on a free port; they need no native library (CGO_ENABLED=0).

var quiet = transporttest.Quiet

// serve starts a server over a repository holding "m" (ready) and
// "broken" (its config does not parse), and returns a client.
func serve(t *testing.T, edit func(*grpct.Options)) (pb.GRPCInferenceServiceClient, *backendtest.Backend) {
	t.Helper()
	s, fake := startServer(t, map[string]string{"m": "", "broken": "max_batch_size: x\n"}, func(o *grpct.Options) {
		o.Access.Token = "secret"
		if edit != nil {
			edit(o)
		}
	})
	return dial(t, s.Addr()), fake
}

// startServer starts a server on a free loopback port over a repository
// holding models (name to config.yaml), shut down when the test ends.
func startServer(tb testing.TB, models map[string]string, edit func(*grpct.Options)) (*grpct.Server, *backendtest.Backend) {
	tb.Helper()
	m, fake := transporttest.Manager(tb, models)
	opts := grpct.Options{Addr: "127.0.0.1:0", MaxRecvBytes: 1 << 20, MaxSendBytes: 1 << 20, Logger: quiet,
		Access: transport.Access{Mode: config.ControlExplicit}}
	if edit != nil {
		edit(&opts)
	}
	s := grpct.New(m, opts)
	if err := s.Start(); err != nil {
		tb.Fatal(err)
	}
	transporttest.StopAtCleanup(tb, "shutdown", s.Shutdown)
	return s, fake
}

// dial returns a client on its own connection, closed when the test ends.
func dial(tb testing.TB, addr string) pb.GRPCInferenceServiceClient {
	tb.Helper()
	conn, err := ggrpc.NewClient(addr, ggrpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return pb.NewGRPCInferenceServiceClient(conn)
}

func inferRequest(model string, shape []int64, values ...float32) *pb.ModelInferRequest {
	raw := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &pb.ModelInferRequest{ModelName: model,
		Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: shape}},
		RawInputContents: [][]byte{raw}}
}

func wantCode(t *testing.T, err error, code codes.Code, substr string) {
	t.Helper()
	if status.Code(err) != code || !strings.Contains(status.Convert(err).Message(), substr) {
		t.Fatalf("got %v, want %v naming %q", err, code, substr)
	}
}

func TestGRPCHandlers(t *testing.T) {
	c, fake := serve(t, nil)
	ctx := context.Background()
	if r, err := c.ServerReady(ctx, &pb.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Fatalf("server ready: %v %v", r, err)
	}
	md, err := c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "m"})
	if err != nil || md.Platform != backendtest.Platform || md.Inputs[0].Name != "x" {
		t.Fatalf("metadata: %v %v", md, err)
	}
	resp, err := c.ModelInfer(ctx, inferRequest("m", []int64{1, 4}, 1, 2, 3, 4))
	if err != nil || len(resp.Outputs) != 1 || resp.Outputs[0].Name != "y" || len(resp.RawOutputContents[0]) != 16 {
		t.Fatalf("infer: %v %v", resp, err)
	}
	_, err = c.ModelInfer(ctx, inferRequest("nope", []int64{1, 4}, 1, 2, 3, 4))
	wantCode(t, err, codes.NotFound, "nope")
	_, err = c.ModelInfer(ctx, inferRequest("m", []int64{1, 3}, 1, 2, 3))
	wantCode(t, err, codes.InvalidArgument, "x")
	_, err = c.ModelInfer(ctx, inferRequest("broken", []int64{1, 4}, 1, 2, 3, 4))
	wantCode(t, err, codes.Unavailable, "broken")

	fake.FailRuns(errors.New("device lost"))
	_, err = c.ModelInfer(ctx, inferRequest("m", []int64{1, 4}, 1, 2, 3, 4))
	wantCode(t, err, codes.Internal, "device lost")
	if n := strings.Count(status.Convert(err).Message(), "device lost"); n != 1 {
		t.Fatalf("%v names its cause %d times", err, n)
	}
	fake.FailRuns(nil)

	fake.SetLatency(200 * time.Millisecond)
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = c.ModelInfer(short, inferRequest("m", []int64{1, 4}, 1, 2, 3, 4))
	wantCode(t, err, codes.DeadlineExceeded, "")
	fake.SetLatency(0)
}

// Shared memory is refused naming it, not ignored: an output asked for in
// a region would otherwise be answered in the message, the region unwritten.
func TestGRPCRefusesSharedMemory(t *testing.T) {
	c, _ := serve(t, nil)
	ctx := context.Background()
	region := map[string]*pb.InferParameter{"shared_memory_region": {ParameterChoice: &pb.InferParameter_StringParam{StringParam: "r"}}}
	in := &pb.ModelInferRequest{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{
		{Name: "x", Datatype: "FP32", Shape: []int64{1, 4}, Parameters: region}}}
	_, err := c.ModelInfer(ctx, in)
	wantCode(t, err, codes.Unimplemented, `input "x" names a shared-memory region`)
	out := inferRequest("m", []int64{1, 4}, 1, 2, 3, 4)
	out.Outputs = []*pb.ModelInferRequest_InferRequestedOutputTensor{{Name: "y", Parameters: region}}
	_, err = c.ModelInfer(ctx, out)
	wantCode(t, err, codes.Unimplemented, `output "y" names a shared-memory region`)
}

// An input's content_type reaches the codec over gRPC too: base64 is for
// BYTES elements (the fake model's FP32 input refuses it, naming why).
func TestGRPCContentType(t *testing.T) {
	c, _ := serve(t, nil)
	req := inferRequest("m", []int64{1, 4}, 1, 2, 3, 4)
	req.Inputs[0].Parameters = map[string]*pb.InferParameter{"content_type": {ParameterChoice: &pb.InferParameter_StringParam{StringParam: "base64"}}}
	_, err := c.ModelInfer(context.Background(), req)
	wantCode(t, err, codes.InvalidArgument, "content_type base64 is for BYTES inputs")
}

func TestGRPCRepository(t *testing.T) {
	c, fake := serve(t, nil)
	ctx := context.Background()
	_, err := c.RepositoryModelUnload(ctx, &pb.RepositoryModelUnloadRequest{ModelName: "m"})
	wantCode(t, err, codes.Unauthenticated, "bearer token")
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer secret")
	if _, err := c.RepositoryModelUnload(authed, &pb.RepositoryModelUnloadRequest{ModelName: "m"}); err != nil {
		t.Fatal(err)
	}
	if fake.Open() != 0 {
		t.Fatalf("%d instances open after unload", fake.Open())
	}
	_, err = c.ModelInfer(ctx, inferRequest("m", []int64{1, 4}, 1, 2, 3, 4))
	wantCode(t, err, codes.NotFound, "m")
	// Unloading a model that is not loaded succeeds, as in Triton: once
	// more, and one the repository does not hold.
	for _, name := range []string{"m", "nope"} {
		if _, err := c.RepositoryModelUnload(authed, &pb.RepositoryModelUnloadRequest{ModelName: name}); err != nil {
			t.Fatalf("unload %s, not loaded: %v", name, err)
		}
	}
	if _, err := c.RepositoryModelLoad(authed, &pb.RepositoryModelLoadRequest{ModelName: "m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModelInfer(ctx, inferRequest("m", []int64{1, 4}, 1, 2, 3, 4)); err != nil {
		t.Fatal(err)
	}

	// One repository: a name is refused rather than ignored.
	_, err = c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{RepositoryName: "other"})
	wantCode(t, err, codes.InvalidArgument, `repository_name "other"`)
	_, err = c.RepositoryModelLoad(authed, &pb.RepositoryModelLoadRequest{RepositoryName: "other", ModelName: "m"})
	wantCode(t, err, codes.InvalidArgument, "one model repository")
	_, err = c.RepositoryModelUnload(authed, &pb.RepositoryModelUnloadRequest{RepositoryName: "other", ModelName: "m"})
	wantCode(t, err, codes.InvalidArgument, "leave it empty")
	if idx, err := c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{Ready: true}); err != nil || len(idx.Models) != 1 || idx.Models[0].Name != "m" {
		t.Fatalf("index %v, %v", idx, err)
	}

	off, _ := serve(t, func(o *grpct.Options) { o.Access.Mode = config.ControlNone })
	_, err = off.RepositoryModelLoad(authed, &pb.RepositoryModelLoadRequest{ModelName: "m"})
	wantCode(t, err, codes.PermissionDenied, "--model-control-mode explicit")
}

// TestGRPCPooledCalls sends distinct rows from many clients at once, some
// of them too large to share one message buffer (gRPC reads them in
// pieces) and some timing out in the queue, and checks that every answer
// is its own request's rows: unary calls reuse their memory, and the
// fake backend echoes its input.
func TestGRPCPooledCalls(t *testing.T) {
	s, fake := startServer(t, map[string]string{"m": "max_batch_size: 4096\n"}, nil)
	c := dial(t, s.Addr())
	fake.SetLatency(time.Millisecond)
	const clients, calls = 16, 40
	errs := make(chan error, clients)
	for k := range clients {
		go func() {
			errs <- func() error {
				for i := range calls {
					rows := 1 + (k*calls+i)%3*2000 // 1, 2001 or 4001 rows: 16 B to 64 KB
					values := make([]float32, 4*rows)
					for j := range values {
						values[j] = float32(k*1000000 + i*100 + j%97)
					}
					req := inferRequest("m", []int64{int64(rows), 4}, values...)
					req.Outputs = []*pb.ModelInferRequest_InferRequestedOutputTensor{{Name: "y"}}
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					if i%5 == 4 {
						ctx, cancel = context.WithTimeout(context.Background(), 100*time.Microsecond) // dropped in the queue
					}
					resp, err := c.ModelInfer(ctx, req)
					cancel()
					if i%5 == 4 {
						continue // answered or timed out; either way its memory is not reused
					}
					if err != nil {
						return err
					}
					if got := resp.GetRawOutputContents(); len(got) != 1 || string(got[0]) != string(req.RawInputContents[0]) {
						return fmt.Errorf("client %d call %d: the answer is not the request's rows", k, i)
					}
				}
				return nil
			}()
		}()
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestGRPCTypedRequestAnswersRaw: a request in typed contents is answered
// in raw_output_contents, as Triton answers every request; clients that
// send typed contents (Triton's Java example) read only the raw bytes.
func TestGRPCTypedRequestAnswersRaw(t *testing.T) {
	c, _ := serve(t, nil)
	typed := &pb.ModelInferRequest{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32",
		Shape: []int64{1, 4}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1, 2, 3, 4}}}}}
	want := inferRequest("m", []int64{1, 4}, 1, 2, 3, 4).RawInputContents[0] // the fake backend echoes x as y
	check := func(what string, r *pb.ModelInferResponse) {
		t.Helper()
		if len(r.GetRawOutputContents()) != 1 || !bytes.Equal(r.RawOutputContents[0], want) || r.Outputs[0].GetContents() != nil {
			t.Fatalf("%s: raw %v, contents %v; want raw %v and no typed contents", what, r.GetRawOutputContents(), r.GetOutputs(), want)
		}
	}
	resp, err := c.ModelInfer(context.Background(), typed)
	if err != nil {
		t.Fatal(err)
	}
	check("unary", resp)
	stream, err := c.ModelStreamInfer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(typed); err != nil {
		t.Fatal(err)
	}
	m, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	check("stream", m.GetInferResponse())
}

// TestGRPCStreamMarksFinal: as Triton does, every stream answer, failed or
// not, carries triton_final_response true (each request has one answer),
// which clients written for decoupled models wait for.
func TestGRPCStreamMarksFinal(t *testing.T) {
	c, _ := serve(t, nil)
	stream, err := c.ModelStreamInfer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ok, bad := inferRequest("m", []int64{1, 4}, 1, 2, 3, 4), inferRequest("nope", []int64{1, 4}, 1, 2, 3, 4)
	ok.Id, bad.Id = "ok", "bad"
	for _, req := range []*pb.ModelInferRequest{ok, bad} {
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 2 {
		m, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		r := m.GetInferResponse()
		if (r.GetId() == "bad") != (m.GetErrorMessage() != "") {
			t.Fatalf("answer %q with error %q", r.GetId(), m.GetErrorMessage())
		}
		if p := r.GetParameters()["triton_final_response"]; !p.GetBoolParam() {
			t.Fatalf("answer %q: triton_final_response is %v, want true", r.GetId(), p)
		}
		seen[r.GetId()] = true
	}
	if !seen["ok"] || !seen["bad"] {
		t.Fatalf("answers %v, want ok and bad", seen)
	}
}

// TestGRPCStreamErrorHeader: a stream opened with triton_grpc_error: true
// ends at its first failed request with that error's code, as Triton's
// does; the server goes on serving.
func TestGRPCStreamErrorHeader(t *testing.T) {
	c, _ := serve(t, nil)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "triton_grpc_error", "true")
	stream, err := c.ModelStreamInfer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ok, bad := inferRequest("m", []int64{1, 4}, 1, 2, 3, 4), inferRequest("nope", []int64{1, 4}, 1, 2, 3, 4)
	ok.Id, bad.Id = "ok", "bad"
	if err := stream.Send(ok); err != nil {
		t.Fatal(err)
	}
	if m, err := stream.Recv(); err != nil || m.GetErrorMessage() != "" || m.GetInferResponse().GetId() != "ok" {
		t.Fatalf("first answer: %v, %v", m, err)
	}
	if err := stream.Send(bad); err != nil {
		t.Fatal(err)
	}
	m, err := stream.Recv()
	if status.Code(err) != codes.NotFound || !strings.Contains(status.Convert(err).Message(), "[request id: bad]") {
		t.Fatalf("after a failed request: %v, %v; want the stream ended with NOT_FOUND naming the request", m, err)
	}
	if _, err := c.ModelInfer(context.Background(), inferRequest("m", []int64{1, 4}, 1, 2, 3, 4)); err != nil {
		t.Fatalf("after the stream ended: %v", err)
	}
}

// TestGRPCRefusesExpandingMessages sends a message that would decode to
// about 64 times its size (100,000 empty inputs), unary and on a stream:
// both are refused with a reason, and the server keeps serving.
func TestGRPCRefusesExpandingMessages(t *testing.T) {
	c, _ := serve(t, nil)
	ctx := context.Background()
	req := &pb.ModelInferRequest{ModelName: "m", Inputs: make([]*pb.ModelInferRequest_InferInputTensor, 100000)}
	for i := range req.Inputs {
		req.Inputs[i] = &pb.ModelInferRequest_InferInputTensor{}
	}
	_, err := c.ModelInfer(ctx, req)
	wantCode(t, err, codes.InvalidArgument, "once decoded")

	stream, err := c.ModelStreamInfer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(req); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err == nil || !strings.Contains(status.Convert(err).Message(), "once decoded") {
		t.Fatalf("stream: got %v, want the message refused for its decoded size", err)
	}
	if _, err := c.ModelInfer(ctx, inferRequest("m", []int64{1, 4}, 1, 2, 3, 4)); err != nil {
		t.Fatalf("after a refused message: %v", err)
	}
}

// TestGRPCChargesDecodedSize checks that a unary call is charged what its
// message decodes to when that is more than twice its size: 100,000
// one-byte int64s take 800 KB decoded from ~100 KB on the wire.
func TestGRPCChargesDecodedSize(t *testing.T) {
	c, _ := serve(t, func(o *grpct.Options) { o.Budget = transport.NewBudget(400 << 10) })
	typed := &pb.ModelInferRequest{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "INT64",
		Shape: []int64{25000, 4}, Contents: &pb.InferTensorContents{Int64Contents: make([]int64, 100000)}}}}
	_, err := c.ModelInfer(context.Background(), typed)
	wantCode(t, err, codes.ResourceExhausted, "")
	if _, err := c.ModelInfer(context.Background(), inferRequest("m", []int64{1, 4}, 1, 2, 3, 4)); err != nil {
		t.Fatalf("a small call after the refused one: %v", err)
	}
}

// Triton's shared-memory, trace and log methods are not served: a call
// answers UNIMPLEMENTED naming the method and that the extension is
// missing, as the HTTP routes do, rather than grpc-go's "unknown method".
func TestGRPCMissingExtensionNamed(t *testing.T) {
	s, _ := startServer(t, map[string]string{"m": ""}, nil)
	conn, err := ggrpc.NewClient(s.Addr(), ggrpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, method := range []string{"SystemSharedMemoryRegister", "CudaSharedMemoryStatus", "TraceSetting", "LogSettings"} {
		err := conn.Invoke(context.Background(), "/inference.GRPCInferenceService/"+method, &emptypb.Empty{}, &emptypb.Empty{})
		wantCode(t, err, codes.Unimplemented,
			"gRPC method "+method+" of inference.GRPCInferenceService: this server does not have that protocol extension")
	}
}
