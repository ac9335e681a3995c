package http

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	stdhttp "net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/transport"
)

// Models is what the front end needs of the runtime.
type Models = transport.Models

// Options configure the server.
type Options struct {
	Addr         string // host:port; port 0 picks a free one
	MaxBodyBytes int    // larger bodies get 413
	StrictReady  bool   // /v2/health/ready needs every model READY
	Version      string // reported in server metadata
	Logger       *slog.Logger

	Access   transport.Access   // who may load, unload, run jobs and infer
	Observer transport.Observer // told of every inference; nil: none
	Metrics  stdhttp.Handler    // serves GET /metrics; nil: 404
	Devices  any                // the inventory shown in server metadata; nil: left out
	Jobs     Jobs               // the bulk job queue behind /v2/jobs; nil: disabled
	// MaxJobUpload bounds a job's input, which is streamed rather than
	// buffered, so it may exceed MaxBodyBytes; 0: no bound.
	MaxJobUpload int64
}

// Server is the HTTP front end. Start binds and serves; Shutdown stops
// accepting and waits for requests in flight.
type Server struct {
	opts   Options
	models Models
	log    *slog.Logger
	srv    *fasthttp.Server
	ln     net.Listener
	done   chan error // the serve loop's result

	inflight atomic.Int64 // inference requests inside the handler
	metrics  fasthttp.RequestHandler

	connMu sync.Mutex                      // protects: conns
	conns  map[net.Conn]fasthttp.ConnState // open connections and their state
}

// InFlight is how many inference requests are being handled right now.
func (s *Server) InFlight() int64 { return s.inflight.Load() }

// New returns a server that has not bound its port yet.
func New(models Models, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Observer == nil {
		opts.Observer = transport.NopObserver{}
	}
	s := &Server{opts: opts, models: models, log: opts.Logger}
	s.srv = &fasthttp.Server{
		Handler:            s.route,
		ErrorHandler:       s.wireError,
		Name:               "tiffin",
		MaxRequestBodySize: opts.MaxBodyBytes,
		// Streaming lets a handler see an oversized body's headers and
		// answer 413 cleanly (readBody) instead of fasthttp resetting the
		// connection while the client is still sending.
		StreamRequestBody:     true,
		ReadBufferSize:        16 << 10,
		ReadTimeout:           5 * time.Minute,
		IdleTimeout:           2 * time.Minute,
		NoDefaultServerHeader: false,
		CloseOnShutdown:       true,
		Logger:                fasthttpLogger{s.log},
		ConnState:             s.trackConn,
	}
	s.conns = map[net.Conn]fasthttp.ConnState{}
	if opts.Metrics != nil {
		s.metrics = fasthttpadaptor.NewFastHTTPHandler(opts.Metrics)
	}
	return s
}

// Start binds the address and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("http listen on %s: %w", s.opts.Addr, err)
	}
	s.ln = &countingListener{Listener: ln}
	s.done = make(chan error, 1)
	go func() { s.done <- s.srv.Serve(s.ln) }()
	s.log.Info("http listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the bound address, once started.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops accepting connections and waits for requests in flight to
// finish, or ctx to end. fasthttp closes idle connections itself; a
// connection a client opened but never used (HTTP clients dial ahead) would
// hold shutdown until the client gives up, so those are closed too.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	result := make(chan error, 1)
	go func() { result <- s.srv.ShutdownWithContext(ctx) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-result:
			if err != nil {
				return fmt.Errorf("http shutdown: %w (connections still open: %v, requests in flight: %d)", err, s.connStates(), s.inflight.Load())
			}
			if err := <-s.done; err != nil && !errors.Is(err, net.ErrClosed) {
				return err
			}
			return nil
		case <-tick.C:
			s.closeFresh()
		}
	}
}

// trackConn follows every connection's state.
func (s *Server) trackConn(c net.Conn, state fasthttp.ConnState) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if state == fasthttp.StateClosed || state == fasthttp.StateHijacked {
		delete(s.conns, c)
		return
	}
	s.conns[c] = state
}

// closeFresh closes the connections that never sent a byte. fasthttp marks
// a new connection active before it reads its first request, so its own
// idle sweep never closes one a client dialed ahead and parked.
func (s *Server) closeFresh() {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	for c := range s.conns {
		if cc, ok := c.(*countingConn); ok && cc.read.Load() == 0 {
			_ = c.Close()
		}
	}
}

// countingListener hands out connections that count the bytes read.
type countingListener struct{ net.Listener }

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c}, nil
}

type countingConn struct {
	net.Conn
	read atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// connStates counts open connections by state, for a shutdown that ran out
// of time.
func (s *Server) connStates() map[string]int {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	n := map[string]int{}
	for _, st := range s.conns {
		n[st.String()]++
	}
	return n
}

// wireError answers requests fasthttp could not read: an oversized body
// (413) or a malformed request (400), in the same JSON shape as ours.
func (s *Server) wireError(ctx *fasthttp.RequestCtx, err error) {
	status := fasthttp.StatusBadRequest
	msg := fmt.Sprintf("malformed HTTP request: %v", err)
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		status = fasthttp.StatusRequestEntityTooLarge
		msg = errBodyTooLarge(s.opts.MaxBodyBytes).Error()
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(appendError(nil, msg))
	ctx.SetConnectionClose()
}

// replyError writes {"error": ...} with the status the error's kind maps to.
func replyError(ctx *fasthttp.RequestCtx, err error) {
	status := transport.HTTPStatus(err)
	if errors.As(err, new(errTooLarge)) {
		status = fasthttp.StatusRequestEntityTooLarge
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(appendError(ctx.Response.Body()[:0], transport.Public(err.Error())))
}

type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug("fasthttp", "msg", fmt.Sprintf(format, args...))
}

// parseVersion reads a version path segment; unlike the wire's version
// field, an empty segment is no version at all.
func parseVersion(seg string) (int64, error) {
	if seg == "" {
		return 0, runtime.Errorf(runtime.KindInvalidArgument, "invalid model version \"\": versions are whole numbers >= 1")
	}
	return transport.ParseVersion(seg)
}
