package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"runtime/debug"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/batcher"
)

// worker is one model instance. Its goroutine loads the model and closes
// it. An instance that needs a thread of its own (pinned to some of the
// process's cores, or on a GPU) runs every batch on that goroutine, locked
// to its OS thread. Any other instance is lent: it waits in its version's
// pool, and the request goroutines waiting on the batcher borrow it and run
// batches themselves, one borrower at a time (LOCKS.md, "Lent instances").
// Either way one goroutine at a time calls the backends.Model.
type worker struct {
	spec    backends.LoadSpec
	stats   *stats     // the version's
	sig     *Signature // the version's; read only after serve delivers the batcher
	backend backends.Backend
	log     *slog.Logger

	// serve hands the worker its batcher once every instance of the
	// version has loaded; closed without a value, it tells the worker to
	// close its model and exit.
	serve chan *batcher.Batcher[*inflight]
	// warm hands the worker warmup samples between load and serve
	// (warmup.go); the loader closes it when warmup is over.
	warm      chan warmTask
	warmEnded bool // the loader's: warm is closed
	// view turns runs' tensors between the signature and the model's own
	// (view.go); set by the loader once the signature is resolved, before
	// the first run.
	view *view

	// lend is the version's pool of idle lent instances; nil for an
	// instance with a thread of its own. retire is closed by the version's
	// stop once it has taken this instance out of the pool for good.
	lend   chan *worker
	retire chan struct{}

	// interactive reports whether interactive requests arrived lately
	// (Manager.interactive); nil in tests without a Manager.
	interactive func() bool
	// traffic is told when a batch with interactive rows runs on a lent
	// instance, so that bulk batches on those cores keep clear of it
	// (Manager.interactive); nil in tests without a Manager.
	traffic *interactiveClock

	model  backends.Model // owned by the worker goroutine once loaded
	pinned []int          // the thread's CPU set as read back after pinning
	tid    int            // the OS thread's id; 0 when the worker has no thread of its own
	done   chan struct{}  // closed when the goroutine has closed the model and exited
}

func (w *worker) LogValue() slog.Value {
	return slog.GroupValue(slog.String("model", w.spec.Model), slog.Int64("version", w.spec.Version),
		slog.Int("instance", w.spec.Instance), slog.Any("device", w.spec.Device))
}

// start runs the worker goroutine and waits until its model is loaded (or
// failed to load). A loaded worker then waits on w.serve, and serves until
// its batcher closes.
func (w *worker) start(ctx context.Context) error {
	w.done = make(chan struct{})
	w.serve = make(chan *batcher.Batcher[*inflight], 1)
	w.warm = make(chan warmTask)
	loaded := make(chan error, 1)
	go w.run(ctx, loaded)
	return <-loaded
}

func (w *worker) run(ctx context.Context, loaded chan<- error) {
	defer close(w.done)
	if w.ownThread() {
		// The thread stays locked until the goroutine exits, and then Go
		// retires it, so the pinned thread never serves other goroutines.
		goruntime.LockOSThread()
		if err := pinThread(w.spec.Device.Cores); err != nil {
			loaded <- err
			return
		}
		w.tid = threadID()
	}
	w.pinned, _ = threadAffinity()
	model, err := w.load(ctx)
	if err != nil {
		loaded <- err
		return
	}
	w.model = model
	loaded <- nil
	w.takeWarmups()
	if b, ok := <-w.serve; ok {
		if w.lend == nil {
			// A thread of its own: a P of its own (procs.go). A lent
			// instance runs on the request goroutines' Ps instead.
			procs.add(1, w.log)
			defer procs.add(-1, w.log)
		}
		w.log.Debug("instance serving", "instance", w, "pinned", w.pinned, "lent", w.lend != nil)
		if w.lend != nil {
			w.lend <- w
			<-w.retire // the version is unloading and holds this instance now
		}
		w.serveUntilClosed(b)
	}
	if err := w.model.Close(); err != nil {
		w.log.Warn("close instance", "instance", w, "err", err)
	}
}

// serveUntilClosed runs the group's batches until the batcher is closed
// and everything queued has been handed out.
func (w *worker) serveUntilClosed(b *batcher.Batcher[*inflight]) {
	group := w.spec.Device.Kind.String()
	for {
		batch, err := b.Next(context.Background(), group)
		if err != nil {
			return // closed and drained
		}
		b.Done(batch, w.runBatch(batch))
	}
}

// drive runs the group's batches on a borrowed instance, on the calling
// request goroutine, until j is finished, j's context is done, or the
// batcher is closed and drained (closed is then true). The caller holds w
// for the whole call and returns it to the pool afterwards.
func (w *worker) drive(b *batcher.Batcher[*inflight], j *inflight) (closed bool) {
	group := w.spec.Device.Kind.String()
	for {
		batch, err := b.NextUntil(j.ctx, group, j.done)
		if err != nil {
			return errors.Is(err, batcher.ErrClosed)
		}
		b.Done(batch, w.runBatch(batch))
		if j.finished.Load() {
			return false
		}
	}
}

// ownThread says whether the worker needs an OS thread of its own: when
// pinning narrows its CPUs (the instance has some of the process's cores,
// not all), and on a GPU, since CUDA's current device is per thread. An
// instance on every core the process may use gains nothing from a locked
// thread and pays for one: each batch handed to a locked thread costs a
// futex wake-up and a P hand-off each way (bench/README.md, Split cores).
func (w *worker) ownThread() bool {
	if w.spec.Device.Kind == backends.GPU {
		return true
	}
	return len(w.spec.Device.Cores) > 0 && !sameCPUs(w.spec.Device.Cores, processCPUs)
}

func (w *worker) load(ctx context.Context) (m backends.Model, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("backend %s panicked loading %s: %v\n%s", w.backend.Name(), w.spec.Path, r, debug.Stack())
		}
	}()
	return w.backend.Load(ctx, w.spec)
}

// runBatch runs one batch and hands each part its rows of the outputs. It
// returns the compute time, which the batcher learns from.
func (w *worker) runBatch(batch batcher.Batch[*inflight]) time.Duration {
	bulkOnly := batch.BulkOnly()
	if w.traffic != nil && !bulkOnly && !w.ownThread() { // on the front end's cores (lent)
		w.traffic.batchStarted()
		defer w.traffic.batchEnded() // after deliver: the answers are being written
	}
	start := time.Now()
	outputs, cpu, err := w.execute(concatParts(batch.Parts), w.lowPriorityFor(bulkOnly))
	compute := time.Since(start)
	learn := learnedCost(compute, cpu, w.spec.Threads)
	if err == nil && w.sig.MaxBatchSize > 0 {
		err = checkBatchAxis(int64(batch.Rows), outputs)
	}
	w.stats.batch(batch.Parts, int64(batch.Rows), start, compute)
	traceBatch(batch, w.spec.Device, start, compute)
	if err != nil {
		for _, p := range batch.Parts {
			p.Req.finish(nil, err)
		}
		return learn
	}
	deliver(batch.Parts, outputs)
	if w.log.Enabled(context.Background(), slog.LevelDebug) { // its arguments cost allocations a batch, even unlogged
		w.log.Debug("batch done", "instance", w, "parts", len(batch.Parts), "rows", batch.Rows,
			"reason", batch.Reason, "oldest_wait", batch.OldestWait, "compute", compute)
	}
	return learn
}

// learnedCost is what the batcher learns a batch cost (its policy, the
// fair share's accounting, the traffic gate's estimate): the call's wall
// time, or, for a call on a low thread with one thread (cpu > 0), the CPU
// time it used. A low thread waits for the core while the front end's
// threads run, and counting that wait as bulk compute held bulk under its
// share with fewer rows than the share allows. With more threads ONNX
// Runtime's pool does part of the work, which the calling thread's CPU
// time does not see. Triton's statistics (compute_infer) keep the wall
// time; the batcher's own compute figures show what it learned.
func learnedCost(wall, cpu time.Duration, threads int) time.Duration {
	if cpu > 0 && cpu < wall && threads == 1 {
		return cpu
	}
	return wall
}

// execute runs one batch, on a low-priority thread when low
// (lowthreads.go), turning a backend panic into an error with its stack so
// one bad batch cannot take the server down. cpu is the CPU time the call
// used on a low thread; 0 when it ran in place.
func (w *worker) execute(inputs []backends.Tensor, low bool) (out []backends.Tensor, cpu time.Duration, err error) {
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("backend panic", "instance", w, "panic", r, "stack", string(debug.Stack()))
			err = Errorf(KindInternal, "backend %s panicked: %v", w.backend.Name(), r)
		}
	}()
	if w.view != nil {
		inputs = w.view.toModel(inputs)
	}
	ran := false
	if low {
		// Only here does the call go to another thread in a closure: what
		// it captures is declared in this branch, so an interactive batch
		// allocates none of it.
		var lowOut []backends.Tensor
		var lowErr error
		cpu, ran = lowPrio.run(func() { lowOut, lowErr = w.model.Run(context.Background(), inputs) })
		out, err = lowOut, lowErr
		if err := lowPrio.untoldRefusal(); err != nil {
			w.log.Warn("bulk batches run at normal priority: the OS refused a low-priority thread", "err", err)
		}
	}
	if !ran {
		out, err = w.model.Run(context.Background(), inputs)
	}
	if err != nil {
		return nil, cpu, Errorf(KindInternal, "model %s version %d: %w", w.spec.Model, w.spec.Version, err)
	}
	if w.view != nil {
		if out, err = w.view.fromModel(out); err != nil {
			return nil, cpu, fmt.Errorf("model %s version %d: %w", w.spec.Model, w.spec.Version, err)
		}
	}
	return out, cpu, nil
}

// checkBatchAxis makes sure a run returned one row per item before the
// rows are split between requests. Only a model that batches has a batch
// axis: one that does not takes and returns whole tensors, whatever their
// first axis (a fixed [2, 4, 10], or no batch at all), one request a run.
func checkBatchAxis(rows int64, outputs []backends.Tensor) error {
	for _, o := range outputs {
		if len(o.Shape) == 0 || o.Shape[0] != rows {
			return Errorf(KindInternal, "output %q has shape %v, want %d rows on the batch axis", o.Name, o.Shape, rows)
		}
	}
	return nil
}

// lendInstances gives every instance without a thread of its own to the
// version's pool, where waiting request goroutines borrow it. Call it once,
// before the workers are served their batcher.
func (v *ModelVersion) lendInstances() {
	n := 0
	for _, w := range v.workers {
		if !w.ownThread() {
			n++
		}
	}
	if n == 0 {
		return
	}
	v.lend = make(chan *worker, n)
	for _, w := range v.workers {
		if !w.ownThread() {
			w.lend, w.retire = v.lend, make(chan struct{})
		}
	}
}
