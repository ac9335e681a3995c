package jobs

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
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
	NDJSON  Format = "ndjson"  // one JSON object of named inputs per line
	CSV     Format = "csv"     // the features of a single input per line
	Parquet Format = "parquet" // a column per input, or scalar feature columns of one
	NPY     Format = "npy"     // one array [N, ...] feeding a single input
)

// ParseFormat reads a format name; empty means "sniff it from the
// content" (Submit does).
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case "", NDJSON, CSV, Parquet, NPY:
		return f, nil
	}
	return "", fmt.Errorf("unknown input format %q: want ndjson, csv, parquet or npy", s)
}

// raw reports whether the format's chunks carry raw tensors rather than
// lines of text: each input's rows back to back, inputs in the model's
// order.
func (f Format) raw() bool { return f == Parquet || f == NPY }

// Input says how to read a job's upload.
type Input struct {
	Format Format // empty: sniffed from the content
	// Columns are the scalar feature columns of a Parquet file that feed
	// a model's single input, in order; empty: every numeric column (or
	// the columns named as the model's inputs).
	Columns []string
	// Header says whether a CSV input's first line is a header: HeaderAuto
	// (""), HeaderYes or HeaderNo.
	Header Header
	// Label is the client's own name for the job (CheckLabel), shown in
	// its status; a client can find the job by it while the upload is
	// still being read, before the submit answers with the job's id.
	Label string
}

// MaxLabel is the longest label a job takes, in bytes.
const MaxLabel = 128

// CheckLabel reports why label cannot name a job: too long, or holding a
// control character.
func CheckLabel(label string) error {
	if len(label) > MaxLabel {
		return runtime.Errorf(runtime.KindInvalidArgument, "label: %d bytes, at most %d", len(label), MaxLabel)
	}
	if !utf8.ValidString(label) {
		return runtime.Errorf(runtime.KindInvalidArgument, "label %q: not UTF-8", label)
	}
	for _, r := range label {
		// Not printable: C0 and C1 controls (a terminal acts on them in
		// `tiffin jobs list`), bidi overrides and other format characters.
		if !unicode.IsPrint(r) {
			return runtime.Errorf(runtime.KindInvalidArgument, "label %q: printable characters only, not %U", label, r)
		}
	}
	return nil
}

// Header says whether a CSV input begins with a header line.
type Header string

const (
	// HeaderAuto takes the first line for a header when no field is
	// empty and a field is not a number, or when its fields are 0, 1, ...,
	// n-1: the names pandas writes for unnamed columns.
	HeaderAuto Header = ""
	HeaderYes  Header = "yes"
	HeaderNo   Header = "no"
)

// ParseHeader reads the header= argument: auto (or empty), yes or no
// (true and false too).
func ParseHeader(s string) (Header, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return HeaderAuto, nil
	case "yes", "true":
		return HeaderYes, nil
	case "no", "false":
		return HeaderNo, nil
	}
	return "", fmt.Errorf("unknown header %q: want auto, yes or no", s)
}

// Status is what the API reports of a job.
type Status struct {
	ID         string         `json:"id"`
	Model      string         `json:"model"`
	Version    int64          `json:"version"`
	State      State          `json:"status"`
	Label      string         `json:"label,omitempty"`
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
	// FirstError is the error of a failed row, once any row has failed:
	// why, without reading the results (Error is set only when the job
	// failed).
	FirstError string `json:"first_error,omitempty"`
}

// take sets the counts from p. Until a job's upload is sealed its chunks
// are not all known: Chunks then counts those known, at least the ones
// done, so that a job never shows more chunks done than it has.
func (s *Status) take(p progress, sealed bool) {
	s.RowsDone, s.RowsFailed, s.ChunksDone, s.Replicas = p.rows, p.failed, p.chunks, p.replicas
	s.FirstError = p.firstErr
	if !sealed {
		s.Chunks = max(s.Chunks, p.chunks)
	}
}

// record is a job as stored in the jobs bucket, updated only by
// compare-and-set on its revision, and only at its few changes of state:
// created, sealed, running, finished. Chunks do not write it: each scored
// chunk has its own completion key in the done bucket (progress.go), and
// progress is counted from those when read, so a chunk counts once however
// often it is delivered, and the replicas scoring one job never contend
// for one record. RowsDone, RowsFailed, ChunksDone and Replicas are stored
// when the job finishes.
type record struct {
	Status
	Format  Format    `json:"format"`
	Outputs []outSpec `json:"outputs"` // the model's outputs, by row, for rendering results
	Batched bool      `json:"batched"` // whether the model has a batch axis
	Sealed  bool      `json:"sealed"`  // the upload is complete; Chunks and RowsTotal are final
	// Files: the job's chunk inputs and results are files in the
	// embedded store's data directory (bodies.go), not in the stream and
	// the object store.
	Files bool `json:"files,omitempty"`
}

// outSpec is one output of the model as a result row carries it: its
// shape without the batch axis (-1: any length).
type outSpec struct {
	Name     string            `json:"name"`
	DataType backends.DataType `json:"datatype"`
	Shape    []int64           `json:"shape"`
}

func outputSpecs(sig *runtime.Signature) []outSpec {
	out := make([]outSpec, len(sig.Outputs))
	for i, o := range sig.Outputs {
		out[i] = outSpec{Name: o.Name, DataType: o.DataType, Shape: rowShape(sig, o.Shape)}
	}
	return out
}

// withProgress is the record's status with the progress counted p.
func (r *record) withProgress(p progress) Status {
	s := r.Status
	s.take(p, r.Sealed)
	if p.chunks > 0 && s.State == Pending {
		s.State = Running
	}
	return s
}

// start marks a pending job running.
func (r *record) start(now time.Time) bool {
	if r.State != Pending {
		return false
	}
	r.State, r.StartedAt = Running, &now
	return true
}

// finishWith ends a sealed job whose every chunk is done, with the
// progress counted.
func (r *record) finishWith(p progress, now time.Time) bool {
	if !r.Sealed || r.State.Finished() || p.chunks < r.Chunks {
		return false
	}
	r.take(p, r.Sealed)
	r.State = Succeeded
	if r.RowsFailed == r.RowsTotal {
		r.State, r.Error = Failed, "every row failed; the first error: "+r.FirstError
	}
	r.finish(r.State, now)
	return true
}

func (r *record) finish(s State, now time.Time) {
	r.State, r.FinishedAt = s, &now
	if r.StartedAt == nil {
		r.StartedAt = &now
	}
}
