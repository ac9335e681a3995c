package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/nats-io/nuid"

	"github.com/tiffin-ml/tiffin/runtime"
)

// ErrConflict is the target of errors.Is for requests that do not fit a
// job's state: the results of an unfinished job, cancelling a finished
// one. Their kind is runtime.KindConflict (HTTP 409).
var ErrConflict = errors.New("the job's state does not allow this")

func conflict(format string, args ...any) error {
	return &runtime.Error{Kind: runtime.KindConflict, Msg: fmt.Sprintf(format, args...), Err: ErrConflict}
}

func newID() string { return nuid.Next() }

// List returns every job's status, oldest first; with labels, only those
// of the jobs that carry one of them ("": a job without one).
func (s *Service) List(ctx context.Context, labels ...string) ([]Status, error) {
	st, err := s.started()
	if err != nil {
		return nil, err
	}
	recs, err := st.list(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(recs))
	for _, r := range recs {
		if len(labels) > 0 && !slices.Contains(labels, r.Label) {
			continue // before its status: that reads the job's progress
		}
		js, err := st.status(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, js)
	}
	slices.SortFunc(out, func(a, b Status) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// Cancel cancels a pending or running job: its queued chunks are dropped,
// chunks in flight are discarded when they finish, and stored results are
// deleted. Cancelling a cancelled job is a no-op; a finished one, a
// conflict.
func (s *Service) Cancel(ctx context.Context, id string) (Status, error) {
	st, err := s.started()
	if err != nil {
		return Status{}, err
	}
	p, err := st.progress(ctx, id)
	if err != nil {
		return Status{}, err
	}
	rec, err := st.update(ctx, id, func(r *record) bool {
		if r.State.Finished() {
			return false
		}
		r.take(p, r.Sealed)
		r.Error = "cancelled"
		r.finish(Cancelled, time.Now().UTC())
		return true
	})
	if err != nil {
		return Status{}, err
	}
	if rec.State != Cancelled {
		return rec.Status, conflict("job %s has already %s; there is nothing to cancel; to delete it and its results: DELETE /v2/jobs/%s?purge=true, or tiffin jobs delete %s", id, rec.State, id, id)
	}
	if err := errors.Join(st.purge(ctx, rec), st.deleteResults(ctx, rec)); err != nil {
		return rec.Status, err
	}
	s.log.Info("job cancelled", "job", id)
	return rec.Status, nil
}

// Delete removes a finished job and its results.
func (s *Service) Delete(ctx context.Context, id string) (Status, error) {
	st, rec, err := s.lookup(ctx, id)
	if err != nil {
		return Status{}, err
	}
	if !rec.State.Finished() {
		return rec.Status, conflict("job %s is %s; cancel it before deleting it", id, rec.State)
	}
	if err := st.deleteResults(ctx, rec); err != nil {
		return rec.Status, err
	}
	if err := st.jobs.Purge(ctx, id); err != nil {
		return rec.Status, fmt.Errorf("delete job %s: %w", id, err)
	}
	s.log.Info("job deleted", "job", id)
	return rec.Status, nil
}

// Results opens a finished job's results, rendered in f: NDJSON, one line
// per input row in input order, or Parquet, one row group per chunk. They
// are read from the store and rendered one chunk at a time. A job still
// running, cancelled, or whose upload failed has none: that is a conflict.
func (s *Service) Results(ctx context.Context, id string, f ResultFormat) (io.ReadCloser, Status, error) {
	st, rec, err := s.lookup(ctx, id)
	if err != nil {
		return nil, Status{}, err
	}
	complete := rec.Sealed && rec.ChunksDone == rec.Chunks
	switch {
	case rec.State == Cancelled:
		return nil, rec.Status, conflict("job %s was cancelled; it has no results", id)
	case !rec.State.Finished():
		now, _ := st.status(ctx, rec)
		return nil, now, conflict("job %s is %s (%d of %d rows done); its results are ready once it has finished",
			id, rec.State, now.RowsDone, rec.RowsTotal)
	case !complete:
		return nil, rec.Status, conflict("job %s failed: %s; it has no results", id, rec.Error)
	}
	chunks := &chunkResults{store: st, ctx: ctx, rec: rec, job: id, chunks: rec.Chunks}
	switch f {
	case ResultsParquet:
		return renderParquet(rec, chunks), rec.Status, nil
	case ResultsNDJSON, "":
		return &ndjsonReader{rec: rec, chunks: chunks}, rec.Status, nil
	}
	return nil, rec.Status, runtime.Errorf(runtime.KindInvalidArgument, "unknown results format %q: want ndjson or parquet", f)
}
