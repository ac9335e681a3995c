package http

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	stdhttp "net/http"
	"strings"
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
	TLS      *tls.Config        // serve HTTPS (mTLS when it asks for client certificates); nil: plain HTTP
	Devices  any                // the inventory shown in server metadata; nil: left out
	Jobs     Jobs               // the bulk job queue behind /v2/jobs; nil: disabled
	// MaxJobUpload bounds a job's input, which is streamed rather than
	// buffered, so it may exceed MaxBodyBytes; 0: no bound.
	MaxJobUpload int64
	// MaxDownloads bounds the job result downloads served at once, each
	// holding a chunk's results while its client reads; more get 429. 0:
	// no bound.
	MaxDownloads int
	// Budget bounds the bytes requests in flight hold, shared with the
	// gRPC front end; nil: no bound.
	Budget *transport.Budget
	// HeaderTimeout bounds the wait for a request's headers, BodyTimeout
	// the wait for its body (408 either way), WriteTimeout the time a
	// response may take to be written to a client that does not read.
	// Zero: DefaultReadTimeout / DefaultWriteTimeout.
	HeaderTimeout, BodyTimeout, WriteTimeout time.Duration
}

// Timeout defaults.
const (
	DefaultReadTimeout  = 60 * time.Second
	DefaultWriteTimeout = 60 * time.Second
)

// Server is the HTTP front end. Start binds and serves; Shutdown stops
// accepting and waits for requests in flight.
type Server struct {
	opts   Options
	models Models
	log    *slog.Logger
	srv    *fasthttp.Server
	ln     net.Listener
	done   chan error // the serve loop's result

	inflight  atomic.Int64 // inference requests inside the handler
	draining  atomic.Bool  // Drain was called: each connection closes after its answer
	waits     waits        // ends waiting requests at their deadline, or when their client hangs up
	metrics   fasthttp.RequestHandler
	budget    *transport.Budget
	paths     pathCache     // request paths answered before, so routing allocates none (paths.go)
	downloads chan struct{} // a token per job result download being served; nil: no bound

	connMu sync.Mutex                      // protects: conns
	conns  map[net.Conn]fasthttp.ConnState // open connections (their state after they join: countingConn.state)
}

// Drain makes every answer from now on close its connection, so that a
// client opens its next one elsewhere while a load balancer takes the
// server out, before Shutdown closes the listener (serve's
// --shutdown-delay). Readiness says the server is shutting down by then:
// the runtime answers it.
func (s *Server) Drain() { s.draining.Store(true) }

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
	for _, d := range []*time.Duration{&opts.HeaderTimeout, &opts.BodyTimeout} {
		if *d <= 0 {
			*d = DefaultReadTimeout
		}
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	s := &Server{opts: opts, models: models, log: opts.Logger, budget: opts.Budget}
	if opts.MaxDownloads > 0 {
		s.downloads = make(chan struct{}, opts.MaxDownloads)
	}
	s.srv = &fasthttp.Server{
		Handler:            s.route,
		ErrorHandler:       s.wireError,
		Name:               "tiffin",
		MaxRequestBodySize: opts.MaxBodyBytes,
		// Streaming lets a handler see an oversized body's headers and
		// answer 413 cleanly (readBody) instead of fasthttp resetting the
		// connection while the client is still sending.
		StreamRequestBody: true,
		ReadBufferSize:    16 << 10,
		// A JSON answer of a few thousand numbers leaves in one write
		// syscall; with fasthttp's 4 KiB it took two (README, Security model).
		WriteBufferSize:       16 << 10,
		ReadTimeout:           opts.HeaderTimeout,
		WriteTimeout:          opts.WriteTimeout,
		HeaderReceived:        s.headerReceived,
		ExpectHandler:         s.expect,
		IdleTimeout:           2 * time.Minute,
		NoDefaultServerHeader: false,
		CloseOnShutdown:       true,
		Logger:                fasthttpLogger{s.log},
		// fasthttp's header errors would otherwise quote the request's
		// bytes (its Authorization header among them) back in the answer.
		SecureErrorLogMessage: true,
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
	ln = wrapListener{ln, newLazyConn} // below TLS, whose writes cannot be retried
	if s.opts.TLS != nil {
		ln = tls.NewListener(ln, s.opts.TLS)
	}
	s.ln = wrapListener{ln, newCountingConn}
	s.done = make(chan error, 1)
	go func() { s.done <- s.srv.Serve(s.ln) }()
	s.log.Info("http listening", "addr", ln.Addr().String(), "tls", s.opts.TLS != nil)
	return nil
}

// Addr is the bound address, once started.
func (s *Server) Addr() string {
	if s.ln == nil {
		return "" // not started (--allow-http=false)
	}
	return s.ln.Addr().String()
}

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
				// Out of time: the connections still open (a client that
				// never reads its response, one that sends slowly) are
				// closed, so that the rest of shutdown gets to run.
				s.log.Warn("http shutdown deadline: closing connections still open",
					"connections", s.connStates(), "requests_in_flight", s.inflight.Load(), "err", err)
				s.closeAll()
			}
			// fasthttp closes only the listeners its Serve has registered:
			// a Shutdown that ran before the serve goroutine did would
			// leave it waiting in Accept for good.
			_ = s.ln.Close()
			if err := <-s.done; err != nil && !errors.Is(err, net.ErrClosed) {
				return err
			}
			s.closeLate(ctx, tick.C)
			return nil
		case <-tick.C:
			s.closeFresh()
		}
	}
}

// closeLate closes what a Shutdown that found no listener left open: a
// connection Serve accepted between that and the listener's close, which
// fasthttp (its stop flag already cleared) keeps serving. Its inference
// requests may finish first, until ctx ends; then it is closed. After a
// graceful fasthttp shutdown there is none, and this returns at once.
func (s *Server) closeLate(ctx context.Context, tick <-chan time.Time) {
	for {
		s.connMu.Lock()
		open := len(s.conns)
		s.connMu.Unlock()
		switch {
		case open == 0:
			return
		case s.inflight.Load() == 0 || ctx.Err() != nil:
			s.closeAll()
			return
		}
		select {
		case <-ctx.Done():
		case <-tick:
		}
	}
}

// trackConn follows every connection's state. A connection joins and
// leaves the set under connMu; its moves between active and idle, twice
// a request, only update its countingConn.
func (s *Server) trackConn(c net.Conn, state fasthttp.ConnState) {
	cc, counted := c.(*countingConn)
	if counted {
		cc.state.Store(int32(state))
	}
	switch {
	case state == fasthttp.StateClosed || state == fasthttp.StateHijacked:
		s.connMu.Lock()
		delete(s.conns, c)
		s.connMu.Unlock()
	case !counted || state == fasthttp.StateNew:
		s.connMu.Lock()
		s.conns[c] = state
		s.connMu.Unlock()
	}
}

// closeFresh closes the connections that never sent a byte. fasthttp marks
// a new connection active before it reads its first request, so its own
// idle sweep never closes one a client dialed ahead and parked.
func (s *Server) closeFresh() {
	s.closeWhere(func(c net.Conn) bool {
		cc, ok := c.(*countingConn)
		return ok && cc.read.Load() == 0
	})
}

// closeAll closes every open connection.
func (s *Server) closeAll() { s.closeWhere(func(net.Conn) bool { return true }) }

// closeWhere closes the open connections that pick chooses, after letting
// go of connMu: a connection's close may write (TLS's close_notify, which
// waits up to 5 s for a peer that does not read), and connections opening
// meanwhile take connMu. Under TLS it closes the connection underneath: a
// connection shut this way owes the peer no goodbye.
func (s *Server) closeWhere(pick func(net.Conn) bool) {
	s.connMu.Lock()
	var chosen []net.Conn
	for c := range s.conns {
		if pick(c) {
			chosen = append(chosen, c)
		}
	}
	s.connMu.Unlock()
	for _, c := range chosen {
		if cc, ok := c.(*countingConn); ok {
			if tc, ok := cc.Conn.(*tls.Conn); ok {
				_ = tc.NetConn().Close()
				continue
			}
		}
		_ = c.Close()
	}
}

// connStates counts open connections by state, for a shutdown that ran out
// of time.
func (s *Server) connStates() map[string]int {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	n := map[string]int{}
	for c, st := range s.conns {
		if cc, ok := c.(*countingConn); ok {
			st = fasthttp.ConnState(cc.state.Load())
		}
		n[st.String()]++
	}
	return n
}

// headerReceived sets the read deadline for what fasthttp reads of the
// body before the handler runs (up to 8 KiB): the body timeout, or one
// second for a body already known to be over the limit, so that a client
// which sends such headers and stalls is not waited for.
func (s *Server) headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if h.ContentLength() > s.opts.MaxBodyBytes && !strings.HasPrefix(string(h.RequestURI()), "/v2/jobs") {
		return fasthttp.RequestConfig{ReadTimeout: time.Second}
	}
	return fasthttp.RequestConfig{ReadTimeout: s.opts.BodyTimeout}
}

// expect answers "Expect: 100-continue" (curl sends it for bodies over
// 1 MiB): a body announced over its limit gets 413 at once, with the
// usual JSON error naming the limit, instead of an invitation to send it
// all.
func (s *Server) expect(ctx *fasthttp.RequestCtx) int {
	n := int64(ctx.Request.Header.ContentLength())
	limit, err := int64(s.opts.MaxBodyBytes), errBodyTooLarge(s.opts.MaxBodyBytes, "--max-body-bytes")
	if strings.HasPrefix(string(ctx.Request.Header.RequestURI()), "/v2/jobs") {
		limit, err = s.opts.MaxJobUpload, errUploadTooLarge(s.opts.MaxJobUpload)
	}
	if limit > 0 && n > limit {
		ctx.SetContentType("application/json")
		ctx.SetBody(appendError(nil, err.Error())) // fasthttp sends it with the status returned
		return fasthttp.StatusRequestEntityTooLarge
	}
	return fasthttp.StatusContinue
}

// wireError answers requests fasthttp could not read: an oversized body
// (413), one too slow to arrive (408), or a malformed request (400), in the
// same JSON shape as ours.
func (s *Server) wireError(ctx *fasthttp.RequestCtx, err error) {
	werr := runtime.Errorf(runtime.KindInvalidArgument, "malformed HTTP request: %v", err)
	var ne net.Error
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.As(err, &small):
		werr = runtime.Errorf(runtime.KindHeaderTooLarge,
			"the request line and headers are larger than the server's %d-byte read buffer: send a shorter URL or fewer headers", s.srv.ReadBufferSize)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		werr = errBodyTooLarge(s.opts.MaxBodyBytes, "--max-body-bytes")
	case errors.Is(err, io.ErrUnexpectedEOF): // a body read to its announced length; fasthttp has reset the request by then
		werr = runtime.Errorf(runtime.KindInvalidArgument,
			"the connection ended before the body had all the bytes its Content-Length announced")
	case errors.As(err, &ne) && ne.Timeout():
		werr = runtime.Errorf(runtime.KindRequestTimeout, "the request did not arrive in time (--header-read-timeout, --body-read-timeout)")
	}
	ctx.SetStatusCode(transport.HTTPStatus(werr))
	ctx.SetContentType("application/json")
	ctx.SetBody(appendError(nil, werr.Error()))
	ctx.SetConnectionClose()
}

// replyError writes {"error": ...} with the status the error's kind maps to.
func replyError(ctx *fasthttp.RequestCtx, err error) {
	ctx.SetStatusCode(transport.HTTPStatus(err))
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
