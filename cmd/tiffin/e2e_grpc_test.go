package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
	"github.com/tiffin-ml/tiffin/runtime/config"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// grpcServer is a real tiffin with a gRPC client connected to it.
type grpcServer struct {
	*testServer
	addr   string
	conn   *grpc.ClientConn
	client pb.GRPCInferenceServiceClient
}

// freePort asks the kernel for a free loopback port. The gRPC address is
// chosen up front because serve reports only the HTTP server's.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startGRPC(t *testing.T, repo string, edit func(*config.Server)) *grpcServer {
	t.Helper()
	port := freePort(t)
	ts := startServer(t, repo, func(c *config.Server) {
		c.GRPCPort = port
		if edit != nil {
			edit(c)
		}
	})
	gs := &grpcServer{testServer: ts, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	conn, err := grpc.NewClient(gs.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	gs.conn, gs.client = conn, pb.NewGRPCInferenceServiceClient(conn)
	return gs
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t *testing.T, what string, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}

// mlpRequest is a raw-contents request for mlp-small of batch rows.
func mlpRequest(id string, x []float32, batch int) *pb.ModelInferRequest {
	return &pb.ModelInferRequest{ModelName: "mlp-small", Id: id,
		Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{int64(batch), 16}}},
		RawInputContents: [][]byte{f32Bytes(x)}}
}

func checkMLP(t *testing.T, resp *pb.ModelInferResponse, x []float32, batch int) {
	t.Helper()
	if len(resp.RawOutputContents) != 1 || resp.Outputs[0].Name != "output" || fmt.Sprint(resp.Outputs[0].Shape) != fmt.Sprint([]int64{int64(batch), 4}) {
		t.Fatalf("response %v", resp)
	}
	assertClose(t, "mlp-small", bytesF32(resp.RawOutputContents[0]), modelgen.MLPSmall().Forward(x, batch), 1e-5)
}

func TestE2EGRPCHealthAndMetadata(t *testing.T) {
	gs := startGRPC(t, demoRepo(t), nil)
	ctx := ctxT(t)
	live, err := gs.client.ServerLive(ctx, &pb.ServerLiveRequest{})
	if err != nil || !live.Live {
		t.Fatalf("ServerLive: %v %v", live, err)
	}
	ready, err := gs.client.ServerReady(ctx, &pb.ServerReadyRequest{})
	if err != nil || !ready.Ready {
		t.Fatalf("ServerReady: %v %v", ready, err)
	}
	for model, want := range map[string]bool{"mlp-small": true, "cnn": true, "no-such-model": false} {
		r, err := gs.client.ModelReady(ctx, &pb.ModelReadyRequest{Name: model})
		if err != nil || r.Ready != want {
			t.Fatalf("ModelReady %s: %v %v, want %v", model, r, err, want)
		}
	}
	hc, err := healthpb.NewHealthClient(gs.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "inference.GRPCInferenceService"})
	if err != nil || hc.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", hc, err)
	}
	sm, err := gs.client.ServerMetadata(ctx, &pb.ServerMetadataRequest{})
	if err != nil || sm.Name != "tiffin" || len(sm.Extensions) == 0 {
		t.Fatalf("ServerMetadata: %v %v", sm, err)
	}
	for _, spec := range modelgen.Models() {
		md, err := gs.client.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: spec.Name})
		if err != nil || md.Name != spec.Name || fmt.Sprint(md.Versions) != "[1]" || md.Platform != "onnxruntime_onnx" {
			t.Fatalf("ModelMetadata %s: %v %v", spec.Name, md, err)
		}
		for i, in := range spec.Metadata.Inputs {
			got := md.Inputs[i]
			if got.Name != in.Name || got.Datatype != in.DataType.String() || fmt.Sprint(got.Shape) != fmt.Sprint(in.Shape) {
				t.Fatalf("%s input %d: %v, want %v", spec.Name, i, got, in)
			}
		}
	}
	_, err = gs.client.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "no-such-model"})
	wantCode(t, "metadata of an unknown model", err, codes.NotFound)
}

func TestE2EGRPCModelConfig(t *testing.T) {
	gs := startGRPC(t, demoRepo(t), nil)
	ctx := ctxT(t)
	r, err := gs.client.ModelConfig(ctx, &pb.ModelConfigRequest{Name: "mlp-small"})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Config
	if c.Name != "mlp-small" || c.MaxBatchSize != 64 || c.Backend != "onnxruntime" || c.Platform != "onnxruntime_onnx" {
		t.Fatalf("config %v", c)
	}
	if len(c.Input) != 1 || c.Input[0].DataType != pb.DataType_TYPE_FP32 || fmt.Sprint(c.Input[0].Dims) != "[16]" ||
		fmt.Sprint(c.Output[0].Dims) != "[4]" {
		t.Fatalf("dims must leave out the batch axis: %v %v", c.Input, c.Output)
	}
	db := c.GetDynamicBatching()
	if db == nil || fmt.Sprint(db.PreferredBatchSize) != "[16 32]" || db.MaxQueueDelayMicroseconds != 2000 ||
		db.DefaultQueuePolicy.MaxQueueSize != 1024 {
		t.Fatalf("dynamic_batching %v", db)
	}
	if len(c.InstanceGroup) != 1 || c.InstanceGroup[0].Kind != pb.ModelInstanceGroup_KIND_CPU || c.InstanceGroup[0].Count != 1 {
		t.Fatalf("instance_group %v", c.InstanceGroup)
	}
	if c.VersionPolicy.GetLatest().GetNumVersions() != 1 {
		t.Fatalf("version_policy %v", c.VersionPolicy)
	}
	m, err := gs.client.ModelConfig(ctx, &pb.ModelConfigRequest{Name: "multi-io", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	types := fmt.Sprint(m.Config.Input[0].DataType, m.Config.Input[1].DataType, m.Config.Input[2].DataType)
	if types != "TYPE_FP32 TYPE_INT32 TYPE_FP64" {
		t.Fatalf("multi-io input types %s", types)
	}
	_, err = gs.client.ModelConfig(ctx, &pb.ModelConfigRequest{Name: "mlp-small", Version: "7"})
	wantCode(t, "config of an unknown version", err, codes.NotFound)
	_, err = gs.client.ModelConfig(ctx, &pb.ModelConfigRequest{Name: "mlp-small", Version: "x"})
	wantCode(t, "config of a malformed version", err, codes.InvalidArgument)
}

func TestE2EGRPCInfer(t *testing.T) {
	gs := startGRPC(t, demoRepo(t), nil)
	ctx := ctxT(t)
	for _, batch := range []int{1, 5} {
		x := seqInput(batch, 16, float32(batch))
		resp, err := gs.client.ModelInfer(ctx, mlpRequest("r1", x, batch))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Id != "r1" || resp.ModelName != "mlp-small" || resp.ModelVersion != "1" {
			t.Fatalf("response header %v", resp)
		}
		checkMLP(t, resp, x, batch)
	}
}

var multiIOIn = modelgen.MultiIOInputs{
	A: []float32{-1, 0.5, 2, -0.25, 3, -3, 0, 1},
	B: []int32{1, -2, 3, 4, 5, 6, -7, 8},
	C: []float64{0.125, -4, 1e10, 2},
}

func TestE2EGRPCMultiIORaw(t *testing.T) {
	gs := startGRPC(t, demoRepo(t), nil)
	var b, c []byte
	for _, v := range multiIOIn.B {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	for _, v := range multiIOIn.C {
		c = binary.LittleEndian.AppendUint64(c, math.Float64bits(v))
	}
	req := &pb.ModelInferRequest{ModelName: "multi-io", Inputs: multiIOInputs(nil),
		RawInputContents: [][]byte{f32Bytes(multiIOIn.A), b, c},
		Outputs:          []*pb.ModelInferRequest_InferRequestedOutputTensor{{Name: "positive"}, {Name: "scaled"}, {Name: "c_double"}}}
	resp, err := gs.client.ModelInfer(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	want := modelgen.NewMultiIO().Forward(multiIOIn, 2)
	raw := resp.RawOutputContents
	if len(raw) != 3 || resp.Outputs[0].Datatype != "BOOL" || resp.Outputs[1].Datatype != "INT64" {
		t.Fatalf("outputs %v", resp.Outputs)
	}
	for i, p := range want.Positive {
		if (raw[0][i] != 0) != p {
			t.Fatalf("positive[%d] = %d, want %v", i, raw[0][i], p)
		}
	}
	for i, s := range want.Scaled {
		if got := int64(binary.LittleEndian.Uint64(raw[1][8*i:])); got != s {
			t.Fatalf("scaled[%d] = %d, want %d", i, got, s)
		}
	}
	for i, d := range want.CDouble {
		if got := math.Float64frombits(binary.LittleEndian.Uint64(raw[2][8*i:])); got != d {
			t.Fatalf("c_double[%d] = %v, want %v", i, got, d)
		}
	}
}

// multiIOInputs describes multi-io's inputs at batch 2, with typed
// contents when given.
func multiIOInputs(contents []*pb.InferTensorContents) []*pb.ModelInferRequest_InferInputTensor {
	ins := []*pb.ModelInferRequest_InferInputTensor{
		{Name: "a", Datatype: "FP32", Shape: []int64{2, 4}},
		{Name: "b", Datatype: "INT32", Shape: []int64{2, 4}},
		{Name: "c", Datatype: "FP64", Shape: []int64{2, 2}},
	}
	for i := range contents {
		ins[i].Contents = contents[i]
	}
	return ins
}

// TestE2EGRPCMultiIOTyped sends typed contents and gets raw contents back,
// as Triton answers every request.
func TestE2EGRPCMultiIOTyped(t *testing.T) {
	gs := startGRPC(t, demoRepo(t), nil)
	req := &pb.ModelInferRequest{ModelName: "multi-io", Inputs: multiIOInputs([]*pb.InferTensorContents{
		{Fp32Contents: multiIOIn.A}, {IntContents: multiIOIn.B}, {Fp64Contents: multiIOIn.C}})}
	resp, err := gs.client.ModelInfer(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.RawOutputContents) != 4 || len(resp.Outputs) != 4 {
		t.Fatalf("a typed request must get raw outputs: %v", resp)
	}
	var sum []float32
	var scaled []int64
	var positive []bool
	var cDouble []float64
	for i, o := range resp.Outputs {
		if o.Contents != nil {
			t.Fatalf("output %s has typed contents as well", o.Name)
		}
		raw := resp.RawOutputContents[i]
		switch o.Name {
		case "sum":
			for j := 0; j < len(raw); j += 4 {
				sum = append(sum, math.Float32frombits(binary.LittleEndian.Uint32(raw[j:])))
			}
		case "scaled":
			for j := 0; j < len(raw); j += 8 {
				scaled = append(scaled, int64(binary.LittleEndian.Uint64(raw[j:])))
			}
		case "positive":
			for _, b := range raw {
				positive = append(positive, b != 0)
			}
		case "c_double":
			for j := 0; j < len(raw); j += 8 {
				cDouble = append(cDouble, math.Float64frombits(binary.LittleEndian.Uint64(raw[j:])))
			}
		}
	}
	want := modelgen.NewMultiIO().Forward(multiIOIn, 2)
	if fmt.Sprint(sum) != fmt.Sprint(want.Sum) || fmt.Sprint(scaled) != fmt.Sprint(want.Scaled) ||
		fmt.Sprint(positive) != fmt.Sprint(want.Positive) || fmt.Sprint(cDouble) != fmt.Sprint(want.CDouble) {
		t.Fatalf("outputs %v %v %v %v, want %+v", sum, scaled, positive, cDouble, want)
	}
}

func TestE2EGRPCErrors(t *testing.T) {
	gs := startGRPC(t, demoRepo(t), nil)
	ctx := ctxT(t)
	short := mlpRequest("", seqInput(1, 16, 1)[:15], 1)
	_, err := gs.client.ModelInfer(ctx, short)
	wantCode(t, "wrong element count", err, codes.InvalidArgument)
	unknown := mlpRequest("", seqInput(1, 16, 1), 1)
	unknown.ModelName = "no-such-model"
	_, err = gs.client.ModelInfer(ctx, unknown)
	wantCode(t, "unknown model", err, codes.NotFound)
	twoRaw := mlpRequest("", seqInput(1, 16, 1), 1)
	twoRaw.RawInputContents = append(twoRaw.RawInputContents, []byte{1})
	_, err = gs.client.ModelInfer(ctx, twoRaw)
	wantCode(t, "raw contents for two inputs of one", err, codes.InvalidArgument)
	wrongField := &pb.ModelInferRequest{ModelName: "mlp-small", Inputs: []*pb.ModelInferRequest_InferInputTensor{
		{Name: "input", Datatype: "FP32", Shape: []int64{1, 16}, Contents: &pb.InferTensorContents{IntContents: make([]int32, 16)}}}}
	_, err = gs.client.ModelInfer(ctx, wrongField)
	wantCode(t, "FP32 in int_contents", err, codes.InvalidArgument)
	badVersion := mlpRequest("", seqInput(1, 16, 1), 1)
	badVersion.ModelVersion = "-3"
	_, err = gs.client.ModelInfer(ctx, badVersion)
	wantCode(t, "negative version", err, codes.InvalidArgument)
}

// TestE2EGRPCMaxMessage checks --grpc-max-recv-bytes.
func TestE2EGRPCMaxMessage(t *testing.T) {
	gs := startGRPC(t, demoRepo(t), func(c *config.Server) { c.GRPC.MaxRecvBytes = 1024 })
	_, err := gs.client.ModelInfer(ctxT(t), mlpRequest("", seqInput(64, 16, 1), 64))
	wantCode(t, "a 4 KiB request over a 1 KiB limit", err, codes.ResourceExhausted)
	x := seqInput(2, 16, 1)
	resp, err := gs.client.ModelInfer(ctxT(t), mlpRequest("", x, 2))
	if err != nil {
		t.Fatal(err)
	}
	checkMLP(t, resp, x, 2)
}
