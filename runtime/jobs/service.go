package jobs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"

	"github.com/tiffin-ml/tiffin/runtime"
)

// Options configure the job service.
type Options struct {
	URL     string // external NATS (nats://...); empty: embedded JetStream
	DataDir string // the embedded JetStream's store
	Workers int    // chunks scored at once; 0: take jobs, score none
	// ChunkBytes is the size a chunk of input aims at: Parquet and NPY
	// chunks hold as many rows as fit it, text chunks end at the first
	// row past it. Default DefaultChunkBytes; never more than the job
	// store's largest message.
	ChunkBytes int
	ChunkRows  int // rows per chunk at most besides; 0: no cap
	// MaxRedeliveries is how often a chunk that crashed its scorer or
	// kept failing is delivered again before its rows fail with the
	// reason; 0: DefaultMaxRedeliveries; NoRedelivery: never.
	MaxRedeliveries int
	SpoolDir        string        // where Parquet uploads without random access are copied; default spool/ in the embedded store's data directory, else the OS temp dir
	AckWait         time.Duration // an un-acked chunk is redelivered after this
	RetryFor        time.Duration // how long a busy or unavailable model is retried; default 1m
	Replica         string        // this replica's name in job status; default host-pid
	// StreamReplicas is how many servers of an external cluster keep each
	// of the job store's streams and buckets; 0: as many as the cluster
	// has, up to 3 (1 when the server is not clustered). The embedded
	// server keeps one copy.
	StreamReplicas int
	Logger         *slog.Logger

	streamBodies bool // tests: bodies in the stream even when embedded, as with an external cluster
}

// Defaults for the Options left zero.
const (
	// DefaultChunkBytes: a chunk costs ~0.5 ms of CPU besides its rows
	// (files, messages, hand-offs); 2 MiB halves that against 1 MiB for a
	// poison chunk failing twice the rows (bench/README.md).
	DefaultChunkBytes      = 2 << 20
	DefaultMaxRedeliveries = 3
	// NoRedelivery, as Options.MaxRedeliveries, fails a chunk's rows the
	// first time it crashes or keeps failing.
	NoRedelivery = -1
)

// Service is the bulk job queue: it accepts jobs, scores their chunks
// with its workers, and serves their status and results. Start connects it
// to the job store; Stop stops its workers and disconnects.
type Service struct {
	opts   Options
	models Models
	log    *slog.Logger

	broker *broker
	store  atomic.Pointer[store] // nil until started
	pool   *pool
	counts counts // what this replica's pool has done (metrics.go)
}

// New returns a service that has not connected yet.
func New(models Models, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RetryFor <= 0 {
		opts.RetryFor = time.Minute
	}
	if opts.ChunkBytes <= 0 {
		opts.ChunkBytes = DefaultChunkBytes
	}
	switch {
	case opts.MaxRedeliveries == 0:
		opts.MaxRedeliveries = DefaultMaxRedeliveries
	case opts.MaxRedeliveries < 0:
		opts.MaxRedeliveries = 0
	}
	if opts.AckWait <= 0 {
		opts.AckWait = 30 * time.Second
	}
	if opts.Replica == "" {
		host, _ := os.Hostname()
		opts.Replica = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	return &Service{opts: opts, models: models, log: opts.Logger}
}

// Start connects to the job store, creating its buckets and stream as
// needed, and starts the workers.
func (s *Service) Start(ctx context.Context) error {
	b, err := connect(s.opts.URL, s.opts.DataDir, s.log)
	if err != nil {
		return err
	}
	bodies := "" // an external cluster's replicas share no disk: bodies stay in the stream
	if b.embedded != nil && !s.opts.streamBodies {
		bodies = filepath.Join(b.dir, "jobs")
	}
	replicas := b.replicas(s.opts.StreamReplicas)
	// Scaling a stream made with fewer replicas waits for the new copies,
	// longer than JetStream's 5s default for a request, and a second
	// replica starting meanwhile waits for the first one's update.
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	st, err := openStore(octx, b.nc, bodies, replicas)
	cancel()
	if err != nil {
		if replicas > 1 {
			err = fmt.Errorf("the job store on %d servers of the cluster (--jobs-stream-replicas): %w", replicas, err)
		}
		return errors.Join(err, b.close(ctx))
	}
	if s.opts.SpoolDir == "" && b.embedded != nil {
		// The embedded store's data directory is this process's alone, so
		// a spool a killed process left there is removed here; one in the
		// OS temp dir would stay until someone noticed a gigabyte gone.
		s.opts.SpoolDir = filepath.Join(b.dir, "spool")
		if err := errors.Join(os.RemoveAll(s.opts.SpoolDir), os.MkdirAll(s.opts.SpoolDir, 0o755)); err != nil {
			return errors.Join(fmt.Errorf("the Parquet spool directory: %w", err), b.close(ctx))
		}
	} else if n := clearStaleSpools(s.opts.SpoolDir); n > 0 {
		// Shared (the OS temp dir, or one set): only what no live
		// process holds goes.
		s.log.Info("removed Parquet spool files a stopped process left", "files", n)
	}
	s.broker = b
	s.store.Store(st)
	if b.embedded != nil {
		s.failInterrupted(ctx, st)
	}
	if s.opts.Workers == 0 {
		s.log.Info("job queue started; this replica scores no chunks (--jobs-workers=0)", "replica", s.opts.Replica)
		return nil
	}
	cons, err := st.consumer(ctx, s.opts.AckWait)
	if err != nil {
		return errors.Join(err, s.Stop(ctx))
	}
	s.pool = &pool{store: st, scorer: &scorer{models: s.models, retryFor: s.opts.RetryFor}, cons: cons,
		ackWait: s.opts.AckWait, replica: s.opts.Replica, log: s.log, maxRedeliveries: s.opts.MaxRedeliveries, counts: &s.counts}
	s.pool.start(s.opts.Workers)
	s.log.Info("job queue started", "replica", s.opts.Replica, "workers", s.opts.Workers, "max_chunk_bytes", st.maxChunk, "store_replicas", replicas)
	return nil
}

// Stop stops taking chunks, lets the ones in flight finish until ctx
// ends, drains the connection and stops the embedded server.
func (s *Service) Stop(ctx context.Context) error {
	var errs []error
	if s.pool != nil {
		errs = append(errs, s.pool.shutdown(ctx))
		s.pool = nil
	}
	s.store.Store(nil)
	if s.broker != nil {
		errs = append(errs, s.broker.close(ctx))
		s.broker = nil
	}
	return errors.Join(errs...)
}

// lookup reads a job's record from a started service's store.
func (s *Service) lookup(ctx context.Context, id string) (*store, *record, error) {
	st, err := s.started()
	if err != nil {
		return nil, nil, err
	}
	rec, _, err := st.get(ctx, id)
	return st, rec, err
}

func (s *Service) started() (*store, error) {
	st := s.store.Load()
	if st == nil {
		return nil, runtime.Errorf(runtime.KindUnavailable, "the job queue is not running")
	}
	// Disconnected, every call would wait out JetStream's timeout (5s,
	// then a 504 "context deadline exceeded") without saying why.
	if !st.nc.IsConnected() {
		if err := st.nc.LastError(); err != nil {
			return nil, runtime.Errorf(runtime.KindUnavailable, "the job queue is unreachable, reconnecting (%s): %w", st.nc.Status(), err)
		}
		return nil, runtime.Errorf(runtime.KindUnavailable, "the job queue is unreachable, reconnecting (%s)", st.nc.Status())
	}
	return st, nil
}

// Submit creates a job scoring body on a version of a model (0: the
// newest READY one, then pinned). The upload's format is in.Format, or
// sniffed from its first bytes. It reads body to its end, queueing each
// chunk as it fills, and returns once the job is sealed.
func (s *Service) Submit(ctx context.Context, model string, version int64, in Input, body io.Reader) (Status, error) {
	st, err := s.started()
	if err != nil {
		return Status{}, err
	}
	if err := CheckLabel(in.Label); err != nil {
		return Status{}, err
	}
	v, err := s.models.Version(model, version)
	if err != nil {
		return Status{}, err
	}
	br := bufio.NewReaderSize(body, 64<<10)
	f := in.Format
	if f == "" {
		f = sniff(br)
	}
	if err := checkContent(br, f, in.Format != ""); err != nil {
		return Status{}, err
	}
	if err := checkSignature(model, &v.Sig, f); err != nil {
		return Status{}, err
	}
	if len(in.Columns) > 0 && f != Parquet {
		// Ignored, a CSV's columns would feed the model in file order
		// whatever the client asked for, and the job succeed with the
		// features in the wrong places.
		return Status{}, runtime.Errorf(runtime.KindInvalidArgument,
			"columns= picks the feature columns of a Parquet file; this upload is %s, whose values feed the model as they are (select and order the columns before sending it)", f)
	}
	var l *layout
	if f.raw() {
		if l, err = newLayout(model, rowSpecs(&v.Sig), f); err != nil {
			return Status{}, err
		}
	}
	rec := &record{Status: Status{ID: newID(), Model: model, Version: v.Version, State: Pending, Label: in.Label,
		CreatedAt: time.Now().UTC()}, Format: f, Outputs: outputSpecs(&v.Sig), Batched: v.Sig.MaxBatchSize > 0,
		Files: st.files != nil}
	if err := st.create(ctx, rec); err != nil {
		return Status{}, err
	}
	in.Format = f
	rows, chunks, err := s.split(ctx, st, rec, &v.Sig, l, in, body, br)
	if err == nil && rows == 0 {
		err = runtime.Errorf(runtime.KindInvalidArgument, "the input has no rows")
	}
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			// Not the server's fault as a 500 says, nor the client's: the
			// operator's to fix, and the log is where they look.
			s.log.Warn("job upload failed: the disk is full", "job", rec.ID, "err", err)
			err = runtime.Errorf(runtime.KindInsufficientStorage, "the server's disk is full; the upload was not kept: %w", err)
		}
		s.abort(st, rec, err)
		return Status{}, err
	}
	rec, err = st.update(ctx, rec.ID, func(r *record) bool {
		if r.State.Finished() {
			return false
		}
		r.Sealed, r.Chunks, r.RowsTotal = true, chunks, rows
		return true
	})
	if err != nil {
		return Status{}, err
	}
	if rec, err = st.finishIfDone(ctx, rec.ID, s.log); err != nil {
		return Status{}, err
	}
	s.log.Info("job submitted", "job", rec.ID, "model", model, "version", v.Version, "format", f, "rows", rows, "chunks", chunks)
	return st.status(ctx, rec)
}

// split cuts the upload into chunks in its format and queues them.
func (s *Service) split(ctx context.Context, st *store, rec *record, sig *runtime.Signature, l *layout, in Input,
	body io.Reader, br *bufio.Reader) (int64, int, error) {
	defer s.models.BulkWork()()
	p := s.pacer(ctx)
	// A job cancelled while it uploads stops taking its input: one read of
	// its record a chunk, or a megabyte of a Parquet upload being spooled.
	p.cancelled = func() error {
		if r, _, err := st.get(ctx, rec.ID); err == nil && r.State.Finished() {
			return conflict("job %s was %s during its upload", rec.ID, r.State)
		}
		return nil
	}
	emit := func(c chunkRef, data []byte) error {
		c.job = rec.ID
		if err := p.cancelled(); err != nil {
			return err
		}
		err := st.publish(ctx, rec, c, data)
		p.pace() // the chunk's reading, decoding and queueing
		return err
	}
	rows := 0
	if l != nil {
		rows = l.chunkRows(min(s.opts.ChunkBytes, st.maxChunk))
		if s.opts.ChunkRows > 0 {
			rows = min(rows, s.opts.ChunkRows)
		}
	}
	switch in.Format {
	case Parquet:
		if _, ok := body.(parquet.ReaderAtSeeker); !ok {
			body = br
		}
		f, done, err := spool(body, s.opts.SpoolDir, p)
		if err != nil {
			return 0, 0, err
		}
		defer done()
		declare := func(n int64) { s.declare(ctx, st, rec, n) }
		return splitParquet(ctx, rec.Model, l, f, in.Columns, rows, memory.DefaultAllocator, declare, emit)
	case NPY:
		s.declare(ctx, st, rec, npyRows(br))
		return splitNPY(rec.Model, l, br, rows, emit)
	}
	sp := splitter{maxRows: s.opts.ChunkRows, target: s.opts.ChunkBytes, maxBytes: st.maxChunk}
	if in.Format == CSV {
		sp.header = csvHeader(rowSpecs(sig)[0], in.Header)
	}
	return sp.split(br, emit)
}

// declare sets an unsealed job's rows_total to the rows its input says it
// holds (a Parquet footer's count, an .npy header's first axis; 0: not
// known, left alone), so that its progress has a total while the upload
// is still being read. Sealing sets the rows actually read. An input that
// cannot be read this far is left for the split to report.
func (s *Service) declare(ctx context.Context, st *store, rec *record, rows int64) {
	if rows <= 0 {
		return
	}
	if _, err := st.update(ctx, rec.ID, func(r *record) bool {
		if r.Sealed || r.State.Finished() {
			return false
		}
		r.RowsTotal = rows
		return true
	}); err != nil {
		s.log.Warn("record the rows an upload declares", "job", rec.ID, "err", err)
	}
}

// failInterrupted fails the jobs whose upload a stop cut short (kill -9
// mid-upload): unsealed, they would show "running" for good. Only an
// embedded store's jobs are surely this process's own; on an external
// cluster an unsealed job may be another replica's upload in progress.
func (s *Service) failInterrupted(ctx context.Context, st *store) {
	recs, err := st.list(ctx)
	if err != nil {
		s.log.Warn("look for uploads a stop cut short", "err", err)
		return
	}
	for _, r := range recs {
		if r.Sealed || r.State.Finished() {
			continue
		}
		s.abort(st, r, errors.New("the server stopped before the upload was complete; submit the input again"))
		s.log.Warn("job failed: a stop cut its upload short", "job", r.ID, "model", r.Model)
	}
}

// abort fails a job whose upload failed and drops its queued chunks.
func (s *Service) abort(st *store, rec *record, cause error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	id := rec.ID
	_, err := st.update(ctx, id, func(r *record) bool {
		if r.State.Finished() { // cancelled during the upload: it stays so
			return false
		}
		r.Error = "upload failed: " + cause.Error()
		r.RowsTotal = 0 // what the input declared was never queued: its chunks go
		r.finish(Failed, time.Now().UTC())
		return true
	})
	// The chunks scored before the upload failed can never be read (its
	// results answer 409): their files go too, as a cancel's do. A chunk
	// still being scored removes its own (pool.record).
	if err = errors.Join(err, st.purge(ctx, rec), st.deleteResults(ctx, rec)); err != nil {
		s.log.Warn("abort job", "job", id, "err", err)
	}
}

// Get returns a job's status.
func (s *Service) Get(ctx context.Context, id string) (Status, error) {
	st, rec, err := s.lookup(ctx, id)
	if err != nil {
		return Status{}, err
	}
	return st.status(ctx, rec)
}
