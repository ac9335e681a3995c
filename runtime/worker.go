package runtime

import (
	"context"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"runtime/debug"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
)

// worker is one model instance: one goroutine locked to one OS thread,
// pinned to the instance's cores. That goroutine loads the instance, is the
// only caller of its backends.Model, and closes it. Nothing else touches the
// model.
type worker struct {
	spec    backends.LoadSpec
	stats   *stats // the version's
	backend backends.Backend
	log     *slog.Logger

	// serve hands the worker its scheduler once every instance of the
	// version has loaded; closed without a value, it tells the worker to
	// close its model and exit.
	serve chan scheduler

	model  backends.Model // owned by the worker goroutine once loaded
	pinned []int          // the thread's CPU set as read back after pinning
	tid    int            // the OS thread's id
	done   chan struct{}  // closed when the goroutine has closed the model and exited
}

func (w *worker) LogValue() slog.Value {
	return slog.GroupValue(slog.String("model", w.spec.Model), slog.Int64("version", w.spec.Version),
		slog.Int("instance", w.spec.Instance), slog.Any("device", w.spec.Device))
}

// start runs the worker goroutine and waits until its model is loaded (or
// failed to load). A loaded worker then waits on w.serve, and serves until
// its scheduler closes.
func (w *worker) start(ctx context.Context) error {
	w.done = make(chan struct{})
	w.serve = make(chan scheduler, 1)
	loaded := make(chan error, 1)
	go w.run(ctx, loaded)
	return <-loaded
}

func (w *worker) run(ctx context.Context, loaded chan<- error) {
	// The thread stays locked until the goroutine exits, and then Go retires
	// it, so the pinned thread never serves other goroutines.
	goruntime.LockOSThread()
	defer close(w.done)
	if err := pinThread(w.spec.Device.Cores); err != nil {
		loaded <- err
		return
	}
	w.pinned, _ = threadAffinity()
	w.tid = threadID()
	model, err := w.load(ctx)
	if err != nil {
		loaded <- err
		return
	}
	w.model = model
	loaded <- nil
	if sched, ok := <-w.serve; ok {
		w.log.Debug("instance serving", "instance", w, "pinned", w.pinned)
		for {
			batch, ok := sched.next()
			if !ok {
				break
			}
			w.runBatch(batch)
		}
	}
	if err := w.model.Close(); err != nil {
		w.log.Warn("close instance", "instance", w, "err", err)
	}
}

func (w *worker) load(ctx context.Context) (m backends.Model, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("backend %s panicked loading %s: %v\n%s", w.backend.Name(), w.spec.Path, r, debug.Stack())
		}
	}()
	return w.backend.Load(ctx, w.spec)
}

// runBatch drops the jobs whose callers went away, runs the rest as one
// batch, and hands each its slice of the outputs.
func (w *worker) runBatch(batch []*job) {
	live := batch[:0]
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.finish(nil, err)
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	start := time.Now()
	outputs, err := w.execute(concatInputs(live))
	compute := time.Since(start)
	var rows int64
	for _, j := range live {
		rows += j.rows
	}
	w.stats.batch(live, rows, start, compute)
	if err == nil {
		err = checkBatchAxis(live, outputs)
	}
	if err != nil {
		for _, j := range live {
			j.finish(nil, err)
		}
		return
	}
	for k, outs := range scatterOutputs(live, outputs) {
		live[k].finish(outs, nil)
	}
	w.log.Debug("batch done", "instance", w, "requests", len(live), "rows", rows, "compute", compute)
}

// execute runs one batch, turning a backend panic into an error with its
// stack so one bad batch cannot take the server down.
func (w *worker) execute(inputs []backends.Tensor) (out []backends.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("backend panic", "instance", w, "panic", r, "stack", string(debug.Stack()))
			err = Errorf(KindInternal, "backend %s panicked: %v", w.backend.Name(), r)
		}
	}()
	out, err = w.model.Run(context.Background(), inputs)
	if err != nil {
		return nil, Errorf(KindInternal, "model %s version %d: %w", w.spec.Model, w.spec.Version, err)
	}
	return out, nil
}

// checkBatchAxis makes sure a batched run returned one row per item before
// the rows are split between requests.
func checkBatchAxis(jobs []*job, outputs []backends.Tensor) error {
	if len(jobs) == 1 {
		return nil
	}
	var rows int64
	for _, j := range jobs {
		rows += j.rows
	}
	for _, o := range outputs {
		if len(o.Shape) == 0 || o.Shape[0] != rows {
			return Errorf(KindInternal, "output %q has shape %v, want %d rows on the batch axis", o.Name, o.Shape, rows)
		}
	}
	return nil
}
