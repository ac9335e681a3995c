package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/batcher"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

// ModelVersion is one loaded version of a model: its resolved config, its
// signature, its batcher and its workers. Config, Backend and Sig are set
// before the version turns READY and are read-only afterwards.
type ModelVersion struct {
	Name     string
	Version  int64
	Path     string // the model file
	Backend  string
	Platform string       // the backend's platform name, as the transports report it
	Config   config.Model // with inferred and default values filled in
	Sig      Signature
	Warmup   time.Duration // how long the config's warmup took (0: none); set before READY

	log *slog.Logger

	mu     sync.RWMutex // protects: state, reason
	state  State
	reason string

	batcher *batcher.Batcher[*inflight]
	workers []*worker
	lend    chan *worker   // idle lent instances (worker.go); nil when none is lent
	plans   []InstancePlan // where the workers run; released on unload
	stats   stats
}

// Stats returns a snapshot of the version's statistics.
func (v *ModelVersion) Stats() Stats { return v.stats.snapshot(v.Name, v.Version) }

func (v *ModelVersion) LogValue() slog.Value {
	return slog.StringValue(fmt.Sprintf("%s/%d", v.Name, v.Version))
}

// Status returns the version's state and, when not READY, why.
func (v *ModelVersion) Status() VersionStatus {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return VersionStatus{Model: v.Name, Version: v.Version, State: v.state, Reason: v.reason}
}

func (v *ModelVersion) setState(s State, reason string) {
	v.mu.Lock()
	v.state, v.reason = s, reason
	v.mu.Unlock()
}

// Ready reports whether the version takes requests.
func (v *ModelVersion) Ready() bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.state == StateReady
}

// RequestTimeout is how long req may take from its arrival: its own
// Timeout, else the model's batching.timeout.
func (v *ModelVersion) RequestTimeout(req *InferRequest) time.Duration {
	if req.Timeout > 0 {
		return req.Timeout
	}
	return v.Config.Batching.Timeout.D()
}

// infer validates a request, queues it and waits for its outputs, its
// timeout or its caller's cancellation, whichever comes first.
func (v *ModelVersion) infer(ctx context.Context, req *InferRequest) (resp *InferResponse, err error) {
	start := time.Now()
	var rows int64
	defer func() { v.stats.request(start, rows, err) }()
	if st := v.Status(); st.State != StateReady {
		return nil, notTaken{Errorf(KindUnavailable, "model %s version %d is %s: %s", v.Name, v.Version, st.State, st.Reason)}
	}
	rows, err = v.Sig.Validate(v.Name, req)
	if err != nil {
		return nil, err
	}
	timeout := v.RequestTimeout(req)
	if dl, ok := ctx.Deadline(); !ok || dl.Sub(start) > timeout {
		// A caller that already set the deadline (the HTTP front end)
		// spares a second context, its timer and its registration.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	// enqueued reuses start: validating takes microseconds, and a clock
	// read is not free on every machine.
	j := &inflight{ctx: ctx, req: req, priority: batcher.Priority(req.Priority), rows: rows, key: shapeKey(req.Inputs), enqueued: start, done: make(chan struct{})}
	if err := v.batcher.Submit(j); err != nil {
		return nil, v.submitError(err, timeout)
	}
	if err := v.await(j); err != nil {
		return nil, v.waitError(err, timeout)
	}
	if j.result.err != nil {
		return nil, v.waitError(j.result.err, timeout)
	}
	j.resp = InferResponse{ID: req.ID, Model: v.Name, Version: v.Version,
		Outputs: selectOutputs(&v.Sig, req.Outputs, j.result.outputs)}
	if j.result.owned {
		j.resp.owned = j.result.outputs
	}
	return &j.resp, nil
}

// await waits until j is finished or its context is done. While it waits,
// it borrows any idle lent instance and runs the group's batches itself,
// until j is finished: at low load a request then runs on the goroutine
// that read it, with no hand-off to a worker and back (LOCKS.md, "Lent
// instances"). It returns only the context's error; j.result holds the
// rest.
func (v *ModelVersion) await(j *inflight) error {
	lend := v.lend
	if lend != nil {
		// Yield once before leading the group: the request goroutines the
		// network has readied on these cores then read, decode and submit
		// their rows, and the batch takes them all. Without it each
		// goroutine ran its own request to the end, a batch of one
		// (runtime/LOCKS.md, "Lent instances").
		goruntime.Gosched()
	}
	for {
		select {
		case <-j.done:
			return nil
		default:
		}
		select {
		case <-j.done:
			return nil
		case <-j.ctx.Done():
			v.batcher.Sweep() // j leaves the queue now, even if nobody leads the group
			return j.ctx.Err()
		case w := <-lend:
			closed := w.drive(v.batcher, j)
			lend <- w // never blocks: the pool has room for every lent instance
			if closed {
				lend = nil // everything queued is handed out: only wait now
			}
			// Loop: j is finished, its context is done (the next select
			// sees which), or it waits in a batch another borrower runs.
		}
	}
}

// notTaken marks an error from a version that refused a request before
// queueing it, because it was no longer READY: nothing of the request ran,
// so Manager.Infer may hand it to the version that replaced this one.
type notTaken struct{ error }

func (e notTaken) Unwrap() error { return e.error }

func (v *ModelVersion) submitError(err error, timeout time.Duration) error {
	switch {
	case errors.Is(err, batcher.ErrQueueFull):
		return Errorf(KindResourceExhausted, "model %s version %d: %w (%d requests waiting); retry later",
			v.Name, v.Version, ErrQueueFull, v.Config.Batching.MaxQueueSize)
	case errors.Is(err, batcher.ErrClosed):
		return notTaken{Errorf(KindUnavailable, "model %s version %d is unloading", v.Name, v.Version)}
	}
	return v.waitError(err, timeout)
}

func (v *ModelVersion) waitError(err error, timeout time.Duration) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return Errorf(KindDeadlineExceeded, "model %s version %d: request timed out after %s", v.Name, v.Version, timeout)
	case errors.Is(err, context.Canceled):
		return Errorf(KindCancelled, "model %s version %d: request cancelled", v.Name, v.Version)
	}
	return err
}

// stop closes the batcher, lets the workers finish what was queued, and
// waits for them to close their models.
func (v *ModelVersion) stop(ctx context.Context) error {
	v.setState(StateUnloading, "unloading")
	if v.batcher != nil {
		v.batcher.Close()
	}
	// Take every lent instance back from the pool (borrowers finish their
	// batch first), then let their goroutines hand out what is queued.
	for _, w := range v.workers {
		if w.lend == nil {
			continue
		}
		select {
		case <-v.lend:
		case <-ctx.Done():
			return fmt.Errorf("unload %s version %d: %w", v.Name, v.Version, ctx.Err())
		}
	}
	for _, w := range v.workers {
		if w.retire != nil {
			close(w.retire)
		}
	}
	for _, w := range v.workers {
		if w.done == nil {
			continue
		}
		select {
		case <-w.done:
		case <-ctx.Done():
			return fmt.Errorf("unload %s version %d: %w", v.Name, v.Version, ctx.Err())
		}
	}
	v.setState(StateUnavailable, "unloaded")
	return nil
}

// InstanceInfo says where one instance of a version runs.
type InstanceInfo struct {
	Instance int
	Device   backends.Device
	ThreadID int   // the worker's own OS thread; 0 when it has none (an instance on every core of the process)
	Pinned   []int // the thread's CPU set, read back after pinning
	// GPUMemLimit is a GPU instance's memory arena bound in bytes (0: the
	// backend's default, or a CPU instance).
	GPUMemLimit uint64
}

// Instances lists the version's instances and where they run.
func (v *ModelVersion) Instances() []InstanceInfo {
	out := make([]InstanceInfo, len(v.workers))
	for i, w := range v.workers {
		out[i] = InstanceInfo{Instance: i, Device: w.spec.Device, ThreadID: w.tid, Pinned: w.pinned, GPUMemLimit: w.spec.GPUMemLimit}
	}
	return out
}

// BatchStats is the batcher's view: batches by dispatch reason, their sizes,
// queue delays and compute times, and each device group's window.
func (v *ModelVersion) BatchStats() batcher.Stats {
	if v.batcher == nil {
		return batcher.Stats{}
	}
	return v.batcher.Stats()
}
