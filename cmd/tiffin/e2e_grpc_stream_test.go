package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// TestE2EGRPCStreams runs 64 concurrent ModelStreamInfer streams, each
// with several requests of its own inputs, and checks every answer by id.
func TestE2EGRPCStreams(t *testing.T) {
	gs := startGRPC(t, demoRepo(t), nil)
	const streams, perStream = 64, 8
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- runStream(ctxT(t), gs.client, s, perStream)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// runStream sends n requests on one stream (one of them invalid, which must
// come back as an error_message while the stream goes on) and checks every
// response against the reference.
func runStream(ctx context.Context, c pb.GRPCInferenceServiceClient, s, n int) error {
	stream, err := c.ModelStreamInfer(ctx)
	if err != nil {
		return err
	}
	inputs := map[string][]float32{}
	for i := range n {
		id := fmt.Sprintf("s%d-r%d", s, i)
		batch := 1 + (s+i)%3
		x := seqInput(batch, 16, float32(s*100+i))
		req := mlpRequest(id, x, batch)
		if i == n/2 {
			req.Inputs[0].Shape = []int64{int64(batch), 15} // invalid
		} else {
			inputs[id] = x
		}
		if err := stream.Send(req); err != nil {
			return err
		}
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	failed, badID := 0, fmt.Sprintf("s%d-r%d", s, n/2)
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if r.ErrorMessage != "" {
			// tritonclient drops a failed answer's id: the message names it.
			if !strings.HasPrefix(r.ErrorMessage, "[request id: "+badID+"] ") {
				return fmt.Errorf("stream %d: error %q does not name request %s", s, r.ErrorMessage, badID)
			}
			failed++
			continue
		}
		if err := checkStreamAnswer(r.InferResponse, inputs); err != nil {
			return err
		}
	}
	if failed != 1 || len(inputs) != 0 {
		return fmt.Errorf("stream %d: %d errors (want 1), %d requests unanswered", s, failed, len(inputs))
	}
	return nil
}

func checkStreamAnswer(resp *pb.ModelInferResponse, inputs map[string][]float32) error {
	x, ok := inputs[resp.Id]
	if !ok {
		return fmt.Errorf("answer to unknown or repeated id %q", resp.Id)
	}
	delete(inputs, resp.Id)
	batch := len(x) / 16
	want := modelgen.MLPSmall().Forward(x, batch)
	got := bytesF32(resp.RawOutputContents[0])
	if len(got) != len(want) {
		return fmt.Errorf("%s: %d values, want %d", resp.Id, len(got), len(want))
	}
	for i := range got {
		if d := got[i] - float64(want[i]); d > 1e-5 || d < -1e-5 {
			return fmt.Errorf("%s[%d] = %v, want %v", resp.Id, i, got[i], want[i])
		}
	}
	return nil
}

// TestE2EGRPCCancelledWhileQueued keeps mlp-large's one instance busy with
// full batches of 64, sends calls of batch 7 whose deadline ends while they
// wait behind them, and checks from the statistics (batch_stats by size)
// that the timed-out calls were dropped from the queue without running.
func TestE2EGRPCCancelledWhileQueued(t *testing.T) {
	gs := startGRPC(t, demoRepo(t), nil)
	ctx, stop := context.WithCancel(ctxT(t))
	var wg sync.WaitGroup
	big := largeRequest(64)
	var flood pb.GRPCInferenceServiceClient
	// The load has connections of its own, with windows wide enough that
	// HTTP/2 flow control does not hold its requests back: ~30 batches of
	// 64 stay queued, tens of milliseconds of wait.
	for i := range 32 {
		if i%8 == 0 {
			flood = floodClient(t, gs.addr)
		}
		wg.Add(1)
		go func(c pb.GRPCInferenceServiceClient) {
			defer wg.Done()
			for ctx.Err() == nil {
				c.ModelInfer(ctx, big) //nolint:errcheck // load only
			}
		}(flood)
	}
	time.Sleep(300 * time.Millisecond) // let the queue fill
	expired, ran := 0, 0
	for range 20 {
		cctx, cancel := context.WithTimeout(ctxT(t), 2*time.Millisecond)
		_, err := gs.client.ModelInfer(cctx, largeRequest(7))
		cancel()
		switch status.Code(err) {
		case codes.DeadlineExceeded:
			expired++
		case codes.OK:
			ran++ // reached an idle moment of the instance
		default:
			t.Fatalf("batch-7 call: %v", err)
		}
	}
	stop()
	wg.Wait()
	if expired == 0 {
		t.Fatal("no call timed out behind a busy instance")
	}
	st, err := gs.client.ModelStatistics(ctxT(t), &pb.ModelStatisticsRequest{Name: "mlp-large"})
	if err != nil {
		t.Fatal(err)
	}
	ms := st.ModelStats[0]
	if ms.InferenceStats.Fail.Count == 0 {
		t.Fatalf("no failure recorded: %v", ms)
	}
	small := 0 // batch-7 calls that ran; batches of 64 hold none of them
	for _, b := range ms.BatchStats {
		if b.BatchSize != 64 {
			small += int(b.BatchSize/7) * int(b.ComputeInfer.Count)
		}
	}
	// A probe that reached an instance before its deadline ran and then
	// timed out on the way back; that is rare, and not a queued drop.
	dropped := 20 - small
	if small < ran || dropped*2 < expired || dropped == 0 {
		t.Fatalf("%d batch-7 calls ran, %d succeeded, %d timed out: timed-out calls were not dropped from the queue (%v)",
			small, ran, expired, ms.BatchStats)
	}
	t.Logf("%d of 20 calls timed out, %d were dropped from the queue unrun; %d batches ran", expired, dropped, ms.ExecutionCount)
}

func floodClient(t *testing.T, addr string) pb.GRPCInferenceServiceClient {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(8<<20), grpc.WithInitialConnWindowSize(64<<20))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pb.NewGRPCInferenceServiceClient(conn)
}

func largeRequest(batch int) *pb.ModelInferRequest {
	x := seqInput(batch, 256, 1)
	return &pb.ModelInferRequest{ModelName: "mlp-large",
		Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{int64(batch), 256}}},
		RawInputContents: [][]byte{f32Bytes(x)}}
}

// TestE2EGrpcurl lists the service and runs ModelInfer through server
// reflection with grpcurl, with no .proto file. `make interop` installs
// grpcurl; without it on PATH the test skips.
func TestE2EGrpcurl(t *testing.T) {
	bin, err := exec.LookPath("grpcurl")
	if err != nil {
		t.Skip("grpcurl is not on PATH (go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4)")
	}
	gs := startGRPC(t, demoRepo(t), nil)
	out, err := exec.Command(bin, "-plaintext", gs.addr, "list").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "inference.GRPCInferenceService") || !strings.Contains(string(out), "grpc.health.v1.Health") {
		t.Fatalf("grpcurl list: %v\n%s", err, out)
	}
	x := seqInput(2, 16, 3)
	req, _ := json.Marshal(map[string]any{"model_name": "mlp-small", "inputs": []map[string]any{{
		"name": "input", "datatype": "FP32", "shape": []int{2, 16}, "contents": map[string]any{"fp32_contents": x}}}})
	out, err = exec.Command(bin, "-plaintext", "-d", string(req), gs.addr, "inference.GRPCInferenceService/ModelInfer").CombinedOutput()
	if err != nil {
		t.Fatalf("grpcurl ModelInfer: %v\n%s", err, out)
	}
	var resp struct { // answered raw, as Triton answers: grpcurl shows the bytes in base64
		Outputs           []struct{} `json:"outputs"`
		RawOutputContents [][]byte   `json:"rawOutputContents"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.Outputs) != 1 || len(resp.RawOutputContents) != 1 {
		t.Fatalf("grpcurl output: %v\n%s", err, out)
	}
	assertClose(t, "grpcurl", bytesF32(resp.RawOutputContents[0]), modelgen.MLPSmall().Forward(x, 2), 1e-5)
}
