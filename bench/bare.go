package bench

import (
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/valyala/fasthttp"
)

// Bare is a bare fasthttp server speaking just enough V2 to be load
// tested like a real one: it answers the metadata of any model as mlp-small's
// signature (input FP32 [-1,16], output FP32 [-1,4]) and every inference
// with the same small fixed response, without decoding the request, and
// /metrics with its process_cpu_seconds_total. It is
// the ceiling of an HTTP server on this box: the same load generator,
// the same HTTP stack as tiffin, and no model.
type Bare struct {
	srv *fasthttp.Server
	ln  net.Listener
}

const (
	bareMetadata = `{"name":"bare","versions":["1"],"platform":"bare",` +
		`"inputs":[{"name":"input","datatype":"FP32","shape":[-1,16]}],` +
		`"outputs":[{"name":"output","datatype":"FP32","shape":[-1,4]}]}`
	bareResponse = `{"model_name":"bare","model_version":"1","outputs":` +
		`[{"name":"output","datatype":"FP32","shape":[1,4],"data":[0.0,0.0,0.0,0.0]}]}`
)

// StartBare listens on addr (such as 127.0.0.1:0) and serves until Close.
func StartBare(addr string) (*Bare, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	b := &Bare{ln: ln, srv: &fasthttp.Server{Handler: bareHandler, Name: "bare"}}
	go b.srv.Serve(ln) //nolint:errcheck // Serve returns when Close closes the listener
	return b, nil
}

// URL is the server's base URL.
func (b *Bare) URL() string { return "http://" + b.ln.Addr().String() }

// Close stops the server. The listener is closed here too: fasthttp's
// Shutdown closes only the listeners Serve has registered, and Serve may
// not have run yet.
func (b *Bare) Close() error {
	err := b.srv.Shutdown()
	_ = b.ln.Close()
	return err
}

func bareHandler(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	ctx.SetContentType("application/json")
	switch {
	case ctx.IsPost() && strings.HasPrefix(path, "/v2/models/") && strings.HasSuffix(path, "/infer"):
		ctx.SetBodyString(bareResponse)
	case ctx.IsGet() && strings.HasPrefix(path, "/v2/models/") && strings.Count(path, "/") == 3:
		ctx.SetBodyString(bareMetadata)
	case ctx.IsGet() && strings.HasPrefix(path, "/v2/health/"):
	case ctx.IsGet() && path == "/metrics":
		ctx.SetContentType("text/plain; version=0.0.4")
		fmt.Fprintf(ctx, "process_cpu_seconds_total %g\n", processCPUSeconds())
	default:
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		ctx.SetBodyString(`{"error":"the bare server has no ` + strings.ReplaceAll(path, `"`, "") + `"}`)
	}
}

// processCPUSeconds is this process's user and system CPU time, which the
// bare server exposes as tiffin does, so CPU per request compares.
func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
