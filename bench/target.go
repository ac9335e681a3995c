package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/transport/v2client"
)

// Target is a KServe V2 server under load, through one protocol. Its
// methods are safe for concurrent use.
type Target interface {
	// Protocol names the wire format: http-json, http-binary or grpc.
	Protocol() string
	// Address is the server's URL or host:port.
	Address() string
	// Metadata is the model's V2 metadata. Errors wrap ErrUnreachable or
	// ErrUnknownModel where they apply.
	Metadata(ctx context.Context, model string) (backends.Metadata, error)
	// Stats are the model's cumulative counts from Triton's statistics
	// extension; an error means the server does not offer them.
	Stats(ctx context.Context, model string) (ServerStats, error)
	// Caller returns a Call sending inputs, which hold rows rows, as one
	// inference request. The request is encoded once, up front.
	Caller(model string, inputs []backends.Tensor, rows int) (Call, error)
	Close() error
}

// ServerStats are Triton's per-model counters, summed over the versions:
// inferences (rows), executions (batches run), and the time requests
// spent queued (waiting for a batch to form and an instance to be free)
// and computing.
type ServerStats struct {
	Inferences uint64
	Executions uint64
	Queue      Span
	Compute    Span
	// Batches is compute time by batch size (Triton's batch_stats,
	// compute_infer): one count per execution.
	Batches map[int]Span
}

// Span is one of Triton's duration statistics: a count and a total.
type Span struct {
	Count uint64 `json:"count"`
	Ns    uint64 `json:"ns"`
}

func (s *Span) add(o Span) { s.Count, s.Ns = s.Count+o.Count, s.Ns+o.Ns }

// add sums another version's counters into s.
func (s *ServerStats) add(o ServerStats) {
	s.Inferences += o.Inferences
	s.Executions += o.Executions
	s.Queue.add(o.Queue)
	s.Compute.add(o.Compute)
	for size, sp := range o.Batches {
		if s.Batches == nil {
			s.Batches = map[int]Span{}
		}
		b := s.Batches[size]
		b.add(sp)
		s.Batches[size] = b
	}
}

// meanMs is the mean of a span between two snapshots, in ms; nil when
// nothing was counted.
func meanMs(before, after Span) *float64 {
	if after.Count <= before.Count || after.Ns < before.Ns {
		return nil
	}
	v := ms(time.Duration((after.Ns - before.Ns) / (after.Count - before.Count)))
	return &v
}

// MeanBatch is the mean batch size between two snapshots; ok is false when
// nothing ran in between.
func MeanBatch(before, after ServerStats) (mean float64, ok bool) {
	execs := after.Executions - before.Executions
	if after.Executions <= before.Executions || after.Inferences < before.Inferences {
		return 0, false
	}
	return float64(after.Inferences-before.Inferences) / float64(execs), true
}

// Errors a Target's Metadata wraps, so callers can tell them apart.
var (
	ErrUnreachable  = v2client.ErrUnreachable
	ErrUnknownModel = errors.New("unknown model")
)

// wireSpec is a tensor's metadata as the server sent it.
type wireSpec struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// metadataFrom converts the server's tensor metadata, refusing datatypes
// it does not know.
func metadataFrom(model string, ins, outs []wireSpec) (backends.Metadata, error) {
	var md backends.Metadata
	for _, w := range ins {
		dt, ok := backends.ParseDataType(w.Datatype)
		if !ok {
			return md, fmt.Errorf("model %q input %q has datatype %q, which tiffin bench cannot synthesise", model, w.Name, w.Datatype)
		}
		md.Inputs = append(md.Inputs, backends.TensorSpec{Name: w.Name, DataType: dt, Shape: w.Shape})
	}
	for _, w := range outs {
		dt, _ := backends.ParseDataType(w.Datatype)
		md.Outputs = append(md.Outputs, backends.TensorSpec{Name: w.Name, DataType: dt, Shape: w.Shape})
	}
	if len(md.Inputs) == 0 {
		return md, fmt.Errorf("model %q declares no inputs: nothing to synthesise", model)
	}
	return md, nil
}

// CheckSynthesisable says why SyntheticInputs cannot make batch rows for
// the inputs: a batch of more than one needs a batch axis (-1 first) on
// every input.
func CheckSynthesisable(model string, inputs []backends.TensorSpec, batch int) error {
	for _, s := range inputs {
		if !s.DataType.Valid() {
			return fmt.Errorf("model %q input %q has an invalid datatype: cannot synthesise it", model, s.Name)
		}
		if batch > 1 && (len(s.Shape) == 0 || s.Shape[0] != -1) {
			return fmt.Errorf("model %q input %q has shape %v, with no batch axis: cannot synthesise --batch %d (use --batch 1)",
				model, s.Name, s.Shape, batch)
		}
	}
	return nil
}
