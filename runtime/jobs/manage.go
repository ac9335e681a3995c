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

// List returns every job's status, oldest first.
func (s *Service) List(ctx context.Context) ([]Status, error) {
	st, err := s.started()
	if err != nil {
		return nil, err
	}
	recs, err := st.list(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Status, len(recs))
	for i, r := range recs {
		out[i] = r.status()
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
	rec, err := st.update(ctx, id, func(r *record) bool {
		if r.State.Finished() {
			return false
		}
		r.Error = "cancelled"
		r.finish(Cancelled, time.Now().UTC())
		return true
	})
	if err != nil {
		return Status{}, err
	}
	if rec.State != Cancelled {
		return rec.status(), conflict("job %s has already %s; there is nothing to cancel (delete it with ?purge=true)", id, rec.State)
	}
	if err := errors.Join(st.purge(ctx, id), st.deleteResults(ctx, id, rec.Done)); err != nil {
		return rec.status(), err
	}
	s.log.Info("job cancelled", "job", id)
	return rec.status(), nil
}

// Delete removes a finished job and its results.
func (s *Service) Delete(ctx context.Context, id string) (Status, error) {
	st, err := s.started()
	if err != nil {
		return Status{}, err
	}
	rec, _, err := st.get(ctx, id)
	if err != nil {
		return Status{}, err
	}
	if !rec.State.Finished() {
		return rec.status(), conflict("job %s is %s; cancel it before deleting it", id, rec.State)
	}
	if err := st.deleteResults(ctx, id, rec.Done); err != nil {
		return rec.status(), err
	}
	if err := st.jobs.Purge(ctx, id); err != nil {
		return rec.status(), fmt.Errorf("delete job %s: %w", id, err)
	}
	s.log.Info("job deleted", "job", id)
	return rec.status(), nil
}

// Results opens a finished job's results: one NDJSON line per input row, in
// input order. A job still running, cancelled, or whose upload failed has
// none: that is a conflict.
func (s *Service) Results(ctx context.Context, id string) (io.ReadCloser, Status, error) {
	st, err := s.started()
	if err != nil {
		return nil, Status{}, err
	}
	rec, _, err := st.get(ctx, id)
	if err != nil {
		return nil, Status{}, err
	}
	complete := rec.Sealed && rec.Done.count() == rec.Chunks
	switch {
	case rec.State == Cancelled:
		return nil, rec.status(), conflict("job %s was cancelled; it has no results", id)
	case !rec.State.Finished():
		return nil, rec.status(), conflict("job %s is %s (%d of %d rows done); its results are ready once it has finished",
			id, rec.State, rec.RowsDone, rec.RowsTotal)
	case !complete:
		return nil, rec.status(), conflict("job %s failed: %s; it has no results", id, rec.Error)
	}
	return &resultReader{store: st, ctx: ctx, job: id, chunks: rec.Chunks}, rec.status(), nil
}

// resultReader reads a job's chunk results one after another, fetching each
// from the store as the previous one is used up.
type resultReader struct {
	store  *store
	ctx    context.Context
	job    string
	chunks int
	next   int
	cur    io.ReadCloser
}

func (r *resultReader) Read(p []byte) (int, error) {
	for {
		if r.cur == nil {
			if r.next == r.chunks {
				return 0, io.EOF
			}
			cur, err := r.store.openResult(r.ctx, r.job, r.next)
			if err != nil {
				return 0, err
			}
			r.cur, r.next = cur, r.next+1
		}
		n, err := r.cur.Read(p)
		if errors.Is(err, io.EOF) {
			err = r.cur.Close()
			r.cur = nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
}

func (r *resultReader) Close() error {
	if r.cur == nil {
		return nil
	}
	err := r.cur.Close()
	r.cur = nil
	return err
}
