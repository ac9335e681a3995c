package runtime

import (
	"log/slog"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
)

// InferRequest is one inference call, decoded from any transport.
type InferRequest struct {
	ID      string
	Model   string
	Version int64 // 0: the newest READY version
	Inputs  []backends.Tensor
	// Outputs names the outputs wanted, in the order wanted; empty means all.
	Outputs []string
	// Timeout overrides the model's batching.timeout when > 0.
	Timeout  time.Duration
	Priority Priority
}

// Priority orders requests that wait in one queue.
type Priority uint8

const (
	PriorityInteractive Priority = iota
	PriorityBulk
)

// InferResponse is what a model version returned for one request.
type InferResponse struct {
	ID      string
	Model   string
	Version int64
	Outputs []backends.Tensor

	owned []backends.Tensor // every output of the run, when their buffers are this response's alone
}

// Recycle gives the response's output buffers back for later batches,
// where they are this response's alone; the outputs must not be read
// after. A caller that keeps them, or is unsure, does not call it.
func (r *InferResponse) Recycle() {
	for i := range r.owned {
		backends.RecycleOutput(r.owned[i].Data)
	}
	r.owned, r.Outputs = nil, nil
}

// State is a model version's lifecycle state.
type State string

const (
	StateLoading     State = "LOADING"
	StateReady       State = "READY"
	StateUnavailable State = "UNAVAILABLE"
	StateUnloading   State = "UNLOADING"
)

// VersionStatus is a snapshot of one model version, for listings.
type VersionStatus struct {
	Model   string
	Version int64
	State   State
	Reason  string // why it is not READY
}

func (s VersionStatus) LogValue() slog.Value {
	return slog.GroupValue(slog.String("model", s.Model), slog.Int64("version", s.Version),
		slog.String("state", string(s.State)), slog.String("reason", s.Reason))
}
