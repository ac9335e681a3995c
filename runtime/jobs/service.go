package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/tiffin-ml/tiffin/runtime"
)

// Options configure the job service.
type Options struct {
	URL       string        // external NATS (nats://...); empty: embedded JetStream
	DataDir   string        // the embedded JetStream's store
	Workers   int           // chunks scored at once; 0: take jobs, score none
	ChunkRows int           // rows per chunk at most
	AckWait   time.Duration // an un-acked chunk is redelivered after this
	RetryFor  time.Duration // how long a busy or unavailable model is retried; default 1m
	Replica   string        // this replica's name in job status; default host-pid
	Logger    *slog.Logger
}

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
}

// New returns a service that has not connected yet.
func New(models Models, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RetryFor <= 0 {
		opts.RetryFor = time.Minute
	}
	if opts.ChunkRows <= 0 {
		opts.ChunkRows = 1024
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
	st, err := openStore(ctx, b.nc)
	if err != nil {
		return errors.Join(err, b.close(ctx))
	}
	s.broker = b
	s.store.Store(st)
	if s.opts.Workers == 0 {
		s.log.Info("job queue started; this replica scores no chunks (--jobs-workers=0)", "replica", s.opts.Replica)
		return nil
	}
	cons, err := st.consumer(ctx, s.opts.AckWait)
	if err != nil {
		return errors.Join(err, s.Stop(ctx))
	}
	s.pool = &pool{store: st, scorer: &scorer{models: s.models, retryFor: s.opts.RetryFor}, cons: cons,
		ackWait: s.opts.AckWait, replica: s.opts.Replica, log: s.log}
	s.pool.start(s.opts.Workers)
	s.log.Info("job queue started", "replica", s.opts.Replica, "workers", s.opts.Workers, "max_chunk_bytes", st.maxChunk)
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

func (s *Service) started() (*store, error) {
	st := s.store.Load()
	if st == nil {
		return nil, runtime.Errorf(runtime.KindUnavailable, "the job queue is not running")
	}
	return st, nil
}

// Submit creates a job scoring body, rows in format f, on a version of a
// model (0: the newest READY one, then pinned). It reads body to its end,
// queueing each chunk as it fills, and returns once the job is sealed.
func (s *Service) Submit(ctx context.Context, model string, version int64, f Format, body io.Reader) (Status, error) {
	st, err := s.started()
	if err != nil {
		return Status{}, err
	}
	v, err := s.models.Version(model, version)
	if err != nil {
		return Status{}, err
	}
	if err := checkSignature(model, &v.Sig, f); err != nil {
		return Status{}, err
	}
	rec := &record{Status: Status{ID: newID(), Model: model, Version: v.Version, State: Pending,
		CreatedAt: time.Now().UTC()}, Format: f}
	if err := st.create(ctx, rec); err != nil {
		return Status{}, err
	}
	sp := splitter{maxRows: s.opts.ChunkRows, maxBytes: st.maxChunk}
	if f == CSV {
		sp.header = csvHeader(rowSpecs(&v.Sig)[0])
	}
	rows, chunks, err := sp.split(body, func(c chunkRef, data []byte) error {
		c.job = rec.ID
		return st.publish(ctx, c, data)
	})
	if err == nil && rows == 0 {
		err = runtime.Errorf(runtime.KindInvalidArgument, "the input has no rows")
	}
	if err != nil {
		s.abort(st, rec.ID, err)
		return Status{}, err
	}
	rec, err = st.update(ctx, rec.ID, func(r *record) bool {
		if r.State.Finished() {
			return false
		}
		r.Sealed, r.Chunks, r.RowsTotal = true, chunks, rows
		r.finishIfDone(time.Now().UTC())
		return true
	})
	if err != nil {
		return Status{}, err
	}
	s.log.Info("job submitted", "job", rec.ID, "model", model, "version", v.Version, "rows", rows, "chunks", chunks)
	return rec.status(), nil
}

// abort fails a job whose upload failed and drops its queued chunks.
func (s *Service) abort(st *store, id string, cause error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	_, err := st.update(ctx, id, func(r *record) bool {
		r.Error = "upload failed: " + cause.Error()
		r.finish(Failed, time.Now().UTC())
		return true
	})
	if err = errors.Join(err, st.purge(ctx, id)); err != nil {
		s.log.Warn("abort job", "job", id, "err", err)
	}
}

// Get returns a job's status.
func (s *Service) Get(ctx context.Context, id string) (Status, error) {
	st, err := s.started()
	if err != nil {
		return Status{}, err
	}
	rec, _, err := st.get(ctx, id)
	if err != nil {
		return Status{}, err
	}
	return rec.status(), nil
}
