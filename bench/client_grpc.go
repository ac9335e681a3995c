package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tiffin-ml/tiffin/backends"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
	"github.com/tiffin-ml/tiffin/transport/v2client"
)

// GRPCTarget speaks KServe V2 over gRPC through v2client: ModelInfer with
// raw_input_contents, over a few HTTP/2 connections that the load's
// goroutines share round-robin.
type GRPCTarget struct {
	c       *v2client.GRPC
	timeout time.Duration
}

// NewGRPCTarget returns a target for the server at addr (host:port) over
// conns connections, over TLS with tlsCfg when it is not nil.
func NewGRPCTarget(addr string, conns int, timeout time.Duration, tlsCfg *tls.Config) (*GRPCTarget, error) {
	c, err := v2client.NewGRPC(addr, conns, tlsCfg)
	if err != nil {
		return nil, err
	}
	return &GRPCTarget{c: c, timeout: timeout}, nil
}

// SetToken makes every later request carry the bearer token (a server's
// --inference-token); "" sends none. Call it before the load starts.
func (t *GRPCTarget) SetToken(token string) { t.c.SetToken(token) }

// Protocol is grpc.
func (t *GRPCTarget) Protocol() string { return "grpc" }

// Address is host:port.
func (t *GRPCTarget) Address() string { return t.c.Addr() }

// Close closes the connections.
func (t *GRPCTarget) Close() error { return t.c.Close() }

// Metadata calls ModelMetadata.
func (t *GRPCTarget) Metadata(ctx context.Context, model string) (backends.Metadata, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	resp, err := t.c.Client(0).ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: model})
	if err != nil {
		st := status.Convert(err)
		switch st.Code() {
		case codes.Unavailable, codes.DeadlineExceeded:
			return backends.Metadata{}, fmt.Errorf("%w: %s: %s", ErrUnreachable, t.c.Addr(), st.Message())
		case codes.NotFound:
			return backends.Metadata{}, fmt.Errorf("%w %q: the server at %s does not have it (%s)", ErrUnknownModel, model, t.c.Addr(), st.Message())
		}
		return backends.Metadata{}, fmt.Errorf("ModelMetadata %s: %s: %s", model, st.Code(), st.Message())
	}
	return metadataFrom(model, wireSpecs(resp.Inputs), wireSpecs(resp.Outputs))
}

func wireSpecs(ts []*pb.ModelMetadataResponse_TensorMetadata) []wireSpec {
	out := make([]wireSpec, len(ts))
	for i, t := range ts {
		out[i] = wireSpec{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape}
	}
	return out
}

// Stats calls ModelStatistics.
func (t *GRPCTarget) Stats(ctx context.Context, model string) (ServerStats, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	resp, err := t.c.Client(0).ModelStatistics(ctx, &pb.ModelStatisticsRequest{Name: model})
	if err != nil {
		return ServerStats{}, fmt.Errorf("ModelStatistics: %s", status.Convert(err).Message())
	}
	if len(resp.ModelStats) == 0 {
		return ServerStats{}, fmt.Errorf("ModelStatistics: no model_stats in the answer")
	}
	var s ServerStats
	for _, m := range resp.ModelStats {
		is := m.GetInferenceStats()
		v := ServerStats{Inferences: m.InferenceCount, Executions: m.ExecutionCount,
			Queue:   Span{Count: is.GetQueue().GetCount(), Ns: is.GetQueue().GetNs()},
			Compute: Span{Count: is.GetComputeInfer().GetCount(), Ns: is.GetComputeInfer().GetNs()},
			Batches: map[int]Span{}}
		for _, b := range m.GetBatchStats() {
			v.Batches[int(b.GetBatchSize())] = Span{Count: b.GetComputeInfer().GetCount(), Ns: b.GetComputeInfer().GetNs()}
		}
		s.add(v)
	}
	return s, nil
}

// Caller builds the request once; concurrent calls share it (marshalling
// only reads it).
func (t *GRPCTarget) Caller(model string, inputs []backends.Tensor, rows int) (Call, error) {
	req := v2client.GRPCRequest(v2client.Request{Model: model, Inputs: inputs})
	return func(ctx context.Context, client int) (int, error) {
		ctx, cancel := context.WithTimeout(ctx, t.timeout)
		defer cancel()
		if _, err := t.c.Client(client).ModelInfer(ctx, req); err != nil {
			return 0, v2client.StatusError(err)
		}
		return rows, nil
	}, nil
}
