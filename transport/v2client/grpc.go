package v2client

import (
	"context"
	"crypto/tls"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// maxGRPCMessage lifts gRPC's 4 MiB default for large batches.
const maxGRPCMessage = 1 << 30

// GRPC speaks V2 over gRPC, over a few HTTP/2 connections that callers
// share round-robin (Client). It is safe for concurrent use.
type GRPC struct {
	addr    string
	conns   []*grpc.ClientConn
	clients []pb.GRPCInferenceServiceClient
	auth    string // the authorization metadata's value; "" for none
}

// NewGRPC returns a client for the server at addr (host:port) over conns
// connections (at least one), over TLS with tlsCfg when it is not nil
// (TLSFiles.Config), else in plain text. Connections are made lazily, on
// first use.
func NewGRPC(addr string, conns int, tlsCfg *tls.Config) (*GRPC, error) {
	c := &GRPC{addr: addr}
	creds := insecure.NewCredentials()
	if tlsCfg != nil {
		creds = credentials.NewTLS(tlsCfg)
	}
	for range max(conns, 1) {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxGRPCMessage), grpc.MaxCallSendMsgSize(maxGRPCMessage)),
			grpc.WithUnaryInterceptor(c.unaryAuth), grpc.WithStreamInterceptor(c.streamAuth))
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("--grpc %q: %w", addr, err)
		}
		c.conns = append(c.conns, cc)
		c.clients = append(c.clients, pb.NewGRPCInferenceServiceClient(cc))
	}
	return c, nil
}

// Addr is the server's host:port.
func (c *GRPC) Addr() string { return c.addr }

// SetToken makes every later call carry the bearer token (a server's
// --inference-token); "" sends none. Call it before the client is shared.
func (c *GRPC) SetToken(token string) { c.auth = bearer(token) }

func (c *GRPC) unaryAuth(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if c.auth != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", c.auth)
	}
	return invoke(ctx, method, req, reply, cc, opts...)
}

func (c *GRPC) streamAuth(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, stream grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if c.auth != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", c.auth)
	}
	return stream(ctx, desc, cc, method, opts...)
}

// Client is the service client on connection i (modulo their number).
func (c *GRPC) Client(i int) pb.GRPCInferenceServiceClient { return c.clients[i%len(c.clients)] }

// Close closes the connections.
func (c *GRPC) Close() error {
	var first error
	for _, cc := range c.conns {
		if err := cc.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Infer sends r on the first connection and decodes the answer.
func (c *GRPC) Infer(ctx context.Context, r Request) (*Response, error) {
	resp, err := c.clients[0].ModelInfer(ctx, GRPCRequest(r))
	if err != nil {
		return nil, StatusError(err)
	}
	return decodeGRPC(resp)
}

// StatusError is a gRPC error as "Code: message".
func StatusError(err error) error {
	st := status.Convert(err)
	return fmt.Errorf("%s: %s", st.Code(), st.Message())
}
