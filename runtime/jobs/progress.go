package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// doneBucket holds one key per scored chunk, "<job>.<chunk>", created once
// (a second create of the same key fails), and "<job>.<chunk>.why", the
// last reason a chunk failed to be scored, for its poison report.
const doneBucket = "TIFFIN_JOB_DONE"

// chunkDone is a scored chunk's completion key's value.
type chunkDone struct {
	Rows     int    `json:"rows"`
	Failed   int64  `json:"failed"`
	FirstErr string `json:"first_error,omitempty"`
	Replica  string `json:"replica"`
}

// progress is a job's chunks counted from their completion keys.
type progress struct {
	chunks   int
	rows     int64
	failed   int64
	firstErr string
	replicas map[string]int
}

func doneKey(job string, index int) string { return job + "." + strconv.Itoa(index) }
func whyKey(job string, index int) string  { return doneKey(job, index) + ".why" }

// markDone creates a chunk's completion key. It reports false when the
// chunk was already done (a redelivery of a chunk whose ack was lost).
func (s *store) markDone(ctx context.Context, c chunkRef, d chunkDone) (bool, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return false, err
	}
	_, err = s.done.Create(ctx, doneKey(c.job, c.index), b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mark chunk %d of job %s done: %w", c.index, c.job, err)
	}
	return true, nil
}

func (s *store) isDone(ctx context.Context, c chunkRef) (bool, error) {
	_, err := s.done.Get(ctx, doneKey(c.job, c.index))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// doneCount is how many of a job's chunks are done: the number of its
// completion keys, read from the bucket's stream in one request.
func (s *store) doneCount(ctx context.Context, job string) (int, error) {
	info, err := s.doneStream.Info(ctx, jetstream.WithSubjectFilter("$KV."+doneBucket+"."+job+".*"))
	if err != nil {
		return 0, fmt.Errorf("count the done chunks of job %s: %w", job, err)
	}
	return len(info.State.Subjects), nil
}

// progress sums a job's completion keys.
func (s *store) progress(ctx context.Context, job string) (progress, error) {
	p := progress{replicas: map[string]int{}}
	w, err := s.done.Watch(ctx, job+".*", jetstream.IgnoreDeletes())
	if err != nil {
		return p, fmt.Errorf("read the progress of job %s: %w", job, err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case e := <-w.Updates():
			if e == nil {
				return p, nil // the last key read
			}
			var d chunkDone
			if err := json.Unmarshal(e.Value(), &d); err != nil {
				return p, fmt.Errorf("job %s: corrupt completion key %s: %w", job, e.Key(), err)
			}
			p.chunks++
			p.rows += int64(d.Rows)
			p.failed += d.Failed
			p.replicas[d.Replica]++
			if p.firstErr == "" {
				p.firstErr = d.FirstErr
			}
		case <-ctx.Done():
			return p, fmt.Errorf("read the progress of job %s: %w", job, ctx.Err())
		}
	}
}

// status is a job's status: as stored once it has finished, else with its
// progress counted now.
func (s *store) status(ctx context.Context, r *record) (Status, error) {
	if r.State.Finished() {
		return r.Status, nil
	}
	p, err := s.progress(ctx, r.ID)
	if err != nil {
		return Status{}, err
	}
	return r.withProgress(p), nil
}

// finishIfDone finishes a sealed job whose every chunk is done, writing
// its final counts to its record. Whoever completes the last chunk, or
// seals a job whose chunks were all scored first, finishes it; counting is
// one request, summing is done once.
func (s *store) finishIfDone(ctx context.Context, id string, log *slog.Logger) (*record, error) {
	r, _, err := s.get(ctx, id)
	if err != nil || !r.Sealed || r.State.Finished() {
		return r, err
	}
	if n, err := s.doneCount(ctx, id); err != nil || n < r.Chunks {
		return r, err
	}
	p, err := s.progress(ctx, id)
	if err != nil {
		return r, err
	}
	r, err = s.update(ctx, id, func(r *record) bool { return r.finishWith(p, time.Now().UTC()) })
	if err == nil && r.State.Finished() && r.ChunksDone == r.Chunks {
		if r.RowsFailed > 0 {
			log.Warn("job finished", "job", id, "status", r.State, "rows", r.RowsTotal, "failed", r.RowsFailed, "first_error", r.FirstError)
		} else {
			log.Info("job finished", "job", id, "status", r.State, "rows", r.RowsTotal, "failed", r.RowsFailed)
		}
	}
	return r, err
}

// setWhy records why a chunk failed to be scored this time.
func (s *store) setWhy(ctx context.Context, c chunkRef, why string) error {
	_, err := s.done.PutString(ctx, whyKey(c.job, c.index), why)
	return err
}

// why is the last reason recorded for a chunk, or "".
func (s *store) why(ctx context.Context, c chunkRef) string {
	e, err := s.done.Get(ctx, whyKey(c.job, c.index))
	if err != nil {
		return ""
	}
	return string(e.Value())
}

// forget drops a job's completion keys and failure reasons.
func (s *store) forget(ctx context.Context, job string) error {
	if err := s.doneStream.Purge(ctx, jetstream.WithPurgeSubject("$KV."+doneBucket+"."+job+".>")); err != nil {
		return fmt.Errorf("drop the progress of job %s: %w", job, err)
	}
	return nil
}
