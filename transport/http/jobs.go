package http

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/jobs"
)

// Jobs is what the front end needs of the bulk job queue; *jobs.Service
// has it. With Options.Jobs nil, /v2/jobs answers 404.
type Jobs interface {
	Submit(ctx context.Context, model string, version int64, in jobs.Input, body io.Reader) (jobs.Status, error)
	Get(ctx context.Context, id string) (jobs.Status, error)
	List(ctx context.Context, labels ...string) ([]jobs.Status, error)
	Cancel(ctx context.Context, id string) (jobs.Status, error)
	Delete(ctx context.Context, id string) (jobs.Status, error)
	Results(ctx context.Context, id string, f jobs.ResultFormat) (io.ReadCloser, jobs.Status, error)
}

// routeJobs handles /v2/jobs[/<id>[/results]]:
//
//	POST   /v2/jobs?model=M[&version=V][&format=ndjson|csv|parquet|npy][&columns=a,b][&header=auto|yes|no]
//	                                          submit; the body is the input (format sniffed when not given)
//	GET    /v2/jobs                           list
//	GET    /v2/jobs/<id>                      status and progress
//	GET    /v2/jobs/<id>/results[?format=parquet]  NDJSON or Parquet, once finished (else 409)
//	DELETE /v2/jobs/<id>[?purge=true]         cancel; purge deletes a finished job
//
// The upload is the request body, streamed into chunks as it arrives
// (jobUpload). It reports false for paths it does not serve.
func (s *Server) routeJobs(ctx *fasthttp.RequestCtx, rest []string) bool {
	if s.opts.Jobs == nil {
		replyError(ctx, runtime.Errorf(runtime.KindNotFound, "bulk jobs are disabled on this server (tiffin serve --jobs=false)"))
		return true
	}
	if err := s.opts.Access.AuthorizeJobs(authHeader(ctx)); err != nil {
		s.refuseBody(ctx)
		replyError(ctx, err)
		return true
	}
	// Not ctx itself: fasthttp's RequestCtx as a context races with Shutdown.
	bg := context.Background()
	get := ctx.IsGet() || ctx.IsHead()
	switch {
	case len(rest) == 0 && ctx.IsPost():
		s.submitJob(ctx)
	case len(rest) == 0 && get:
		var labels []string
		if args := ctx.QueryArgs(); args.Has("label") { // only the jobs the client named so
			labels = []string{string(args.Peek("label"))}
		}
		list, err := s.opts.Jobs.List(bg, labels...)
		s.replyJob(ctx, fasthttp.StatusOK, map[string]any{"jobs": list}, err)
	case len(rest) == 1 && get:
		st, err := s.opts.Jobs.Get(bg, rest[0])
		s.replyJob(ctx, fasthttp.StatusOK, st, err)
	case len(rest) == 1 && ctx.IsDelete():
		s.cancelJob(ctx, rest[0])
	case len(rest) == 2 && rest[1] == "results" && get:
		s.jobResults(ctx, rest[0])
	default:
		return false
	}
	return true
}

func (s *Server) submitJob(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	model := string(args.Peek("model"))
	if model == "" {
		replyError(ctx, invalid("POST /v2/jobs needs ?model=NAME (and optionally &version=N&format=ndjson|csv|parquet|npy)"))
		return
	}
	var version int64
	if v := args.Peek("version"); len(v) > 0 {
		n, err := parseVersion(string(v))
		if err != nil {
			replyError(ctx, err)
			return
		}
		version = n
	}
	format := string(args.Peek("format"))
	if format == "" && bytes.HasPrefix(ctx.Request.Header.ContentType(), []byte("text/csv")) {
		format = string(jobs.CSV)
	}
	f, err := jobs.ParseFormat(format)
	if err != nil {
		replyError(ctx, invalid("%v", err))
		return
	}
	header, err := jobs.ParseHeader(string(args.Peek("header")))
	if err != nil {
		replyError(ctx, invalid("%v", err))
		return
	}
	in := jobs.Input{Format: f, Header: header, Label: string(args.Peek("label"))}
	if cols := string(args.Peek("columns")); cols != "" {
		in.Columns = strings.Split(cols, ",")
	}
	body, err := s.jobUpload(ctx)
	if err != nil {
		replyError(ctx, err)
		return
	}
	st, err := s.opts.Jobs.Submit(context.Background(), model, version, in, body)
	if k := runtime.KindOf(err); k == runtime.KindTooLarge || k == runtime.KindConflict { // refused mid-upload: too large, or cancelled
		s.drainUpload(ctx, body)
	}
	s.replyJob(ctx, fasthttp.StatusAccepted, st, err)
}

// drainUpload reads and discards what is left of an upload refused for its
// size (or its job cancelled), until its end or the body timeout, so that a client still sending
// reads its 413 rather than a reset connection. Discarding holds no
// memory, and the body timeout bounds the time, as for any upload.
func (s *Server) drainUpload(ctx *fasthttp.RequestCtx, body io.Reader) {
	if u, ok := body.(*uploadReader); ok {
		body = u.wire
	}
	_ = ctx.Conn().SetReadDeadline(time.Now().Add(s.opts.BodyTimeout))
	_, _ = io.Copy(io.Discard, body)
	ctx.SetConnectionClose()
}

// jobUpload is a job's input as a stream. fasthttp hands a body over
// --max-body-bytes to the handler as a stream rather than in memory, so a
// job's input may be far larger, up to MaxJobUpload.
func (s *Server) jobUpload(ctx *fasthttp.RequestCtx) (io.Reader, error) {
	limit := s.opts.MaxJobUpload
	if n := ctx.Request.Header.ContentLength(); limit > 0 && int64(n) > limit {
		s.refuseBody(ctx)
		return nil, errUploadTooLarge(limit)
	}
	enc, err := contentEncoding(ctx)
	if err != nil {
		s.refuseBody(ctx)
		return nil, err
	}
	// The stream, never PostBody: PostBody reads the whole upload into
	// memory first.
	var r io.Reader
	if stream := ctx.RequestBodyStream(); stream == nil { // read whole already, and within the limit
		r = bytes.NewReader(ctx.PostBody())
	} else {
		announced := int64(ctx.Request.Header.ContentLength())
		if announced == -1 { // chunked
			stream = chunkedBody{r: stream}
		}
		r = &uploadReader{r: stream, wire: stream, limit: limit, announced: announced}
	}
	if enc == encIdentity {
		return r, nil
	}
	// Compressed (encoding.go): the limit holds for what it inflates to
	// as well, since that is what the job spools and splits. The
	// inflater is left to the collector: one per upload.
	in, err := getInflater(enc, r)
	if err != nil {
		if runtime.KindOf(err) == runtime.KindInternal { // the connection's own error, before the gzip header
			err = bodyReadError(err)
		}
		return nil, err
	}
	wire := r
	if u, ok := r.(*uploadReader); ok {
		wire = u.wire
	}
	return &uploadReader{r: in, wire: wire, limit: limit, announced: -1}, nil
}

// uploadReader counts a job upload's bytes: it fails once more than limit
// (when > 0) were read, and where the connection ended before the bytes a
// Content-Length announced (announced >= 0): fasthttp's stream then ends
// with a plain io.EOF, as if the body were whole.
type uploadReader struct {
	r         io.Reader
	wire      io.Reader // what is left of the body on the connection, for drainUpload
	read      int64
	limit     int64
	announced int64
}

func (u *uploadReader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	u.read += int64(n)
	switch {
	case u.limit > 0 && u.read > u.limit:
		return n, errUploadTooLarge(u.limit)
	case err == io.EOF && u.read < u.announced:
		return n, runtime.Errorf(runtime.KindInvalidArgument,
			"the connection ended after %d of the %d bytes its Content-Length announced", u.read, u.announced)
	}
	return n, err
}

func errUploadTooLarge(limit int64) error {
	return runtime.Errorf(runtime.KindTooLarge, "job input is larger than the %d-byte limit (--jobs-max-upload-bytes)", limit)
}

func (s *Server) cancelJob(ctx *fasthttp.RequestCtx, id string) {
	purge := string(ctx.QueryArgs().Peek("purge"))
	if purge == "true" || purge == "1" {
		st, err := s.opts.Jobs.Delete(context.Background(), id)
		s.replyJob(ctx, fasthttp.StatusOK, st, err)
		return
	}
	st, err := s.opts.Jobs.Cancel(context.Background(), id)
	s.replyJob(ctx, fasthttp.StatusOK, st, err)
}

// jobResults streams a finished job's results, chunk by chunk, as NDJSON
// or, with ?format=parquet, as a Parquet file.
func (s *Server) jobResults(ctx *fasthttp.RequestCtx, id string) {
	// Each download holds a chunk's results in memory for as long as its
	// client takes to read them: a hundred clients that asked and never
	// read held 2 GB. So only so many are served at once.
	release := func() {}
	if s.downloads != nil {
		select {
		case s.downloads <- struct{}{}:
			release = sync.OnceFunc(func() { <-s.downloads })
		default:
			replyError(ctx, runtime.Errorf(runtime.KindResourceExhausted,
				"%d job result downloads are being served, the most at once (--jobs-max-downloads): retry later", cap(s.downloads)))
			return
		}
	}
	f := jobs.ResultFormat(ctx.QueryArgs().Peek("format"))
	rc, st, err := s.opts.Jobs.Results(context.Background(), id, f)
	if err != nil {
		release()
		s.replyJob(ctx, 0, nil, err)
		return
	}
	ctx.Response.Header.Set("Tiffin-Job-Rows", strconv.FormatInt(st.RowsTotal, 10))
	if f == jobs.ResultsParquet {
		ctx.SetContentType("application/vnd.apache.parquet")
	} else {
		ctx.SetContentType("application/x-ndjson")
	}
	// fasthttp closes the stream once it is sent.
	ctx.SetBodyStream(&largeChunks{rc: rc, conn: ctx.Conn(), timeout: s.opts.WriteTimeout, done: release}, -1)
}

// largeChunks sends a results stream in HTTP chunks of up to
// resultChunk bytes. Read as a plain io.Reader, fasthttp sends each
// 4 KiB read as a chunk and a write system call: a quarter of the CPU
// of an NDJSON results download.
//
// fasthttp sets the write deadline once, for the whole response: a
// results download of gigabytes over an ordinary link took longer than
// --write-timeout and was cut at 60 s. So each piece moves the deadline
// on: the timeout bounds a client that stops reading, not the download.
type largeChunks struct {
	rc      io.ReadCloser
	conn    interface{ SetWriteDeadline(time.Time) error } // nil: left as fasthttp set it
	timeout time.Duration
	done    func() // called once the stream is closed; nil: nothing
}

// resultChunk is the most a results download sends in one HTTP chunk.
const resultChunk = 256 << 10

func (l *largeChunks) Read(p []byte) (int, error) { return l.rc.Read(p) }
func (l *largeChunks) Close() error {
	if l.done != nil {
		defer l.done()
	}
	return l.rc.Close()
}
func (l *largeChunks) SupportsBodyWriteTo() bool { return true }

// WriteTo writes the stream in pieces of resultChunk bytes (the last one
// shorter): each of fasthttp's chunks is one w.Write. A failure of the
// stream is returned as it is, so the response ends without its last
// chunk and the client sees the download cut.
func (l *largeChunks) WriteTo(w io.Writer) (int64, error) {
	buf := make([]byte, resultChunk)
	var total int64
	for {
		n, err := runtime.ReadFill(l.rc, buf)
		if n > 0 {
			if l.conn != nil && l.timeout > 0 {
				_ = l.conn.SetWriteDeadline(time.Now().Add(l.timeout))
			}
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// replyJob writes v as JSON with status, or the error with the status its
// kind maps to (409 for a request the job's state does not allow).
func (s *Server) replyJob(ctx *fasthttp.RequestCtx, status int, v any, err error) {
	if err != nil {
		replyError(ctx, err)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		replyError(ctx, runtime.Errorf(runtime.KindInternal, "encode response: %v", err))
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
