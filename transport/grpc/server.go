package grpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/tiffin-ml/tiffin/transport"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// HealthInterval is how often the health service re-reads readiness.
const HealthInterval = 250 * time.Millisecond

// DefaultMaxStreams bounds the streams (calls) one connection may have
// open at once. gRPC's own default is unbounded, and each open call holds
// a goroutine and its buffers, about 11 KiB, for a HEADERS frame of some
// 15 bytes once HPACK has indexed its fields: 100,000 calls that sent no
// message, 1.5 MB from one client, had held 1.2 GB. A client past the
// bound waits for a slot (Go's and C++'s clients queue the call) or has
// the extra stream refused; 256 is also Go's HTTP/2 server's bound.
const DefaultMaxStreams = 256

// DefaultStreamConcurrency bounds the requests of one ModelStreamInfer
// stream that run at once.
const DefaultStreamConcurrency = 64

// Options configure the server.
type Options struct {
	Addr              string // host:port; port 0 picks a free one
	MaxRecvBytes      int    // largest request message
	MaxSendBytes      int    // largest response message
	Keepalive         keepalive.ServerParameters
	KeepalivePolicy   keepalive.EnforcementPolicy
	StrictReady       bool               // ServerReady needs every model READY
	Version           string             // reported in server metadata
	Access            transport.Access   // who may load, unload, run jobs and infer
	StreamConcurrency int                // default DefaultStreamConcurrency
	MaxStreams        uint32             // calls open at once on one connection; default DefaultMaxStreams
	Observer          transport.Observer // told of every inference; nil: none
	Budget            *transport.Budget  // bytes requests in flight may hold, shared with HTTP; nil: no bound
	TLS               *tls.Config        // serve over TLS (mTLS when it asks for client certificates); nil: plain text
	Logger            *slog.Logger
}

// Server is the gRPC front end. Start binds and serves; Shutdown stops
// accepting and waits for calls in flight.
type Server struct {
	pb.UnimplementedGRPCInferenceServiceServer

	opts   Options
	models transport.Models
	log    *slog.Logger
	srv    *ggrpc.Server
	health *health.Server
	ln     net.Listener
	done   chan error    // the serve loop's result
	stop   chan struct{} // ends the health loop
}

// streamWorkers is how many goroutines serve streams without being started
// for each. Inference handlers block until their answer, so there are more
// than cores; idle ones cost only their stacks.
const streamWorkers = 32

// New returns a server that has not bound its port yet.
func New(models transport.Models, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.StreamConcurrency <= 0 {
		opts.StreamConcurrency = DefaultStreamConcurrency
	}
	if opts.MaxStreams == 0 {
		opts.MaxStreams = DefaultMaxStreams
	}
	s := &Server{opts: opts, models: models, log: opts.Logger, health: health.NewServer()}
	sopts := []ggrpc.ServerOption{
		ggrpc.MaxRecvMsgSize(opts.MaxRecvBytes),
		ggrpc.MaxSendMsgSize(opts.MaxSendBytes),
		ggrpc.KeepaliveParams(opts.Keepalive),
		ggrpc.KeepaliveEnforcementPolicy(opts.KeepalivePolicy),
		ggrpc.MaxConcurrentStreams(opts.MaxStreams),
		// Streams go to warm worker goroutines instead of a new goroutine
		// each (no stack to grow per request); past streamWorkers busy
		// ones, gRPC starts a goroutine as before.
		ggrpc.NumStreamWorkers(streamWorkers),
		// Proto's codec, except that a unary ModelInfer reads raw
		// contents in place and reuses its memory (call.go).
		ggrpc.ForceServerCodecV2(newCodec()),
		ggrpc.UnknownServiceHandler(unknownMethod),
	}
	if opts.TLS != nil {
		sopts = append(sopts, ggrpc.Creds(credentials.NewTLS(opts.TLS)))
	}
	s.srv = ggrpc.NewServer(sopts...)
	s.srv.RegisterService(inferenceService(), s)
	healthpb.RegisterHealthServer(s.srv, s.health)
	reflection.Register(s.srv)
	return s
}

// Start binds the address, serves in the background, and keeps the health
// service in step with readiness.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("grpc listen on %s: %w", s.opts.Addr, err)
	}
	s.ln = ln
	s.done = make(chan error, 1)
	s.stop = make(chan struct{})
	s.updateHealth()
	go s.healthLoop()
	go func() { s.done <- s.srv.Serve(ln) }()
	s.log.Info("grpc listening", "addr", ln.Addr().String(), "tls", s.opts.TLS != nil)
	return nil
}

// Addr is the bound address, once started.
func (s *Server) Addr() string {
	if s.ln == nil {
		return "" // not started (--allow-grpc=false)
	}
	return s.ln.Addr().String()
}

// Shutdown marks the server NOT_SERVING, stops accepting, and waits for
// calls in flight; when ctx ends first, it closes the rest.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	close(s.stop)
	s.health.Shutdown()
	stopped := make(chan struct{})
	go func() {
		s.srv.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		s.srv.Stop()
		<-stopped
	}
	if err := <-s.done; err != nil && !errors.Is(err, ggrpc.ErrServerStopped) {
		return fmt.Errorf("grpc serve: %w", err)
	}
	return nil
}

func (s *Server) healthLoop() {
	t := time.NewTicker(HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.updateHealth()
		}
	}
}

func (s *Server) updateHealth() {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if s.models.Readiness(s.opts.StrictReady) == nil {
		st = healthpb.HealthCheckResponse_SERVING
	}
	s.health.SetServingStatus("", st)
	s.health.SetServingStatus(pb.GRPCInferenceService_ServiceDesc.ServiceName, st)
}

// unknownMethod answers a call to a method this server does not serve,
// naming it: Triton's shared-memory, trace and log methods are not in
// tiffin's service, and grpc-go's own answer ("unknown method") does not
// say that an extension is missing, as the HTTP routes do.
func unknownMethod(_ any, stream ggrpc.ServerStream) error {
	full, _ := ggrpc.MethodFromServerStream(stream) // "/service/method"
	service, method, _ := strings.Cut(strings.TrimPrefix(full, "/"), "/")
	return rpcError(transport.NoExtension(fmt.Sprintf("gRPC method %s of %s", method, service)))
}

// rpcError turns a runtime error into a gRPC status, through the one
// mapping in package transport.
func rpcError(err error) error {
	if err == nil {
		return nil
	}
	return status.Error(transport.GRPCCode(err), transport.Public(err.Error()))
}
