package grpc_test

import (
	"context"
	"fmt"
	"testing"

	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
	"github.com/tiffin-ml/tiffin/transport/internal/transporttest"
)

// BenchmarkServeInfer measures the whole gRPC inference path in one
// process: a real server on a loopback port over the fake backend, and
// grpc-go clients sending one prebuilt request (Triton's form: raw input
// contents, the output asked for by name), each on its own connection: one
// row per request, and 4,096 rows (64 KiB of input) from one client.
// allocs/op counts both sides; the server's part is read from a memory
// profile (-memprofile, focused on package grpc's handler).
func BenchmarkServeInfer(b *testing.B) {
	s, _ := startServer(b, map[string]string{"m": "max_batch_size: 4096\n"}, nil)
	for _, c := range []struct{ clients, rows int }{{1, 1}, {32, 1}, {1, 4096}} {
		values := make([]float32, 4*c.rows)
		for i := range values {
			values[i] = float32(i%7) - 2.5
		}
		req := inferRequest("m", []int64{int64(c.rows), 4}, values...)
		req.Outputs = []*pb.ModelInferRequest_InferRequestedOutputTensor{{Name: "y"}}
		clients := c.clients
		b.Run(fmt.Sprintf("clients=%d/rows=%d", c.clients, c.rows), func(b *testing.B) {
			calls := make([]func() error, clients)
			for i := range calls {
				c := dial(b, s.Addr())
				calls[i] = func() error {
					_, err := c.ModelInfer(context.Background(), req)
					return err
				}
				if err := calls[i](); err != nil { // connect and warm
					b.Fatal(err)
				}
			}
			transporttest.Clients(b, calls)
		})
	}
}
