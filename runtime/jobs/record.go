package jobs

import (
	"fmt"
	"math/bits"
	"time"
)

// State is a job's lifecycle state.
type State string

const (
	Pending   State = "pending"   // queued; no chunk has started
	Running   State = "running"   // at least one chunk has started
	Succeeded State = "succeeded" // every row has a result (some may be row errors)
	Failed    State = "failed"    // the upload failed, or every row failed
	Cancelled State = "cancelled" // cancelled before it finished
)

// Finished reports whether the state is final.
func (s State) Finished() bool { return s == Succeeded || s == Failed || s == Cancelled }

// Format is the input's encoding.
type Format string

const (
	NDJSON Format = "ndjson" // one JSON object of named inputs per line
	CSV    Format = "csv"    // the features of a single input per line
)

// ParseFormat reads a format name; empty means NDJSON.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case "", NDJSON:
		return NDJSON, nil
	case CSV:
		return CSV, nil
	}
	return "", fmt.Errorf("unknown input format %q: want ndjson or csv", s)
}

// Status is what the API reports of a job.
type Status struct {
	ID         string         `json:"id"`
	Model      string         `json:"model"`
	Version    int64          `json:"version"`
	State      State          `json:"status"`
	RowsTotal  int64          `json:"rows_total"`
	RowsDone   int64          `json:"rows_done"`   // rows with a result, failed ones included
	RowsFailed int64          `json:"rows_failed"` // rows whose result is an error
	Error      string         `json:"error"`
	CreatedAt  time.Time      `json:"created_at"`
	StartedAt  *time.Time     `json:"started_at"`
	FinishedAt *time.Time     `json:"finished_at"`
	Chunks     int            `json:"chunks"`
	ChunksDone int            `json:"chunks_done"`
	Replicas   map[string]int `json:"replicas,omitempty"` // chunks scored, by replica
}

// record is a job as stored in the jobs bucket, updated only by
// compare-and-set on its revision. Progress is derived from Done, the set of
// chunks whose result is stored: a chunk counts once however often it is
// delivered.
type record struct {
	Status
	Format   Format `json:"format"`
	Sealed   bool   `json:"sealed"` // the upload is complete; Chunks and RowsTotal are final
	Done     bitmap `json:"done"`
	FirstErr string `json:"first_error,omitempty"` // the first row error, for a job whose every row failed
}

func (r *record) status() Status {
	s := r.Status
	s.ChunksDone = r.Done.count()
	return s
}

// complete records a chunk's result. It reports false when the chunk was
// already recorded or the job is finished, so nothing changed.
func (r *record) complete(c chunkRef, failed int64, firstErr, replica string, now time.Time) bool {
	if r.State.Finished() || !r.Done.set(c.index) {
		return false
	}
	r.RowsDone += int64(c.rows)
	r.RowsFailed += failed
	if r.FirstErr == "" {
		r.FirstErr = firstErr
	}
	if r.Replicas == nil {
		r.Replicas = map[string]int{}
	}
	r.Replicas[replica]++
	r.start(now)
	r.finishIfDone(now)
	return true
}

// start marks a pending job running.
func (r *record) start(now time.Time) bool {
	if r.State != Pending {
		return false
	}
	r.State, r.StartedAt = Running, &now
	return true
}

// finishIfDone ends a sealed job whose every chunk is recorded.
func (r *record) finishIfDone(now time.Time) {
	if !r.Sealed || r.State.Finished() || r.Done.count() < r.Chunks {
		return
	}
	r.State = Succeeded
	if r.RowsFailed == r.RowsTotal {
		r.State, r.Error = Failed, "every row failed; the first error: "+r.FirstErr
	}
	r.finish(r.State, now)
}

func (r *record) finish(s State, now time.Time) {
	r.State, r.FinishedAt = s, &now
	if r.StartedAt == nil {
		r.StartedAt = &now
	}
}

// bitmap is a set of chunk indexes; it travels in JSON as base64.
type bitmap []byte

// set adds i and reports whether it was absent.
func (b *bitmap) set(i int) bool {
	for len(*b) <= i/8 {
		*b = append(*b, 0)
	}
	mask := byte(1) << (i % 8)
	if (*b)[i/8]&mask != 0 {
		return false
	}
	(*b)[i/8] |= mask
	return true
}

func (b bitmap) has(i int) bool { return i/8 < len(b) && b[i/8]&(1<<(i%8)) != 0 }

func (b bitmap) count() int {
	n := 0
	for _, x := range b {
		n += bits.OnesCount8(x)
	}
	return n
}
