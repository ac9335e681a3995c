package runtime

import (
	"log/slog"
	"os"
	goruntime "runtime"
	"sync"
	"time"
)

// procPlan sizes GOMAXPROCS so that instance workers never starve the
// front end.
//
// A worker spends most of its life inside one call into a backend (cgo into
// ONNX Runtime or CUDA). While a goroutine is in a cgo call it keeps its P
// in the syscall state; the scheduler's monitor takes the P back only after
// 20 µs to 10 ms, and a worker coming back from its call needs a P again.
// With GOMAXPROCS equal to the cores, a worker on every core leaves the
// goroutines that read, decode and batch requests waiting for a P while
// compute runs, so requests reach the queue late and batches stay small
// (issue 9: a mean batch of 2.75 with 32 clients waiting).
//
// So each serving worker with a thread of its own (pinned to some of the
// process's cores, or on a GPU) gets a P of its own, on top of the Ps the
// process had at start (Go's default: the usable cores, cgroup quota
// included), which stay for the front end. The OS, not Go, then shares
// each core between a worker thread and the front end's threads.
//
// A lent instance (on every core the process has) gets no P: it runs on
// the request goroutines' own Ps, and its borrower yields once before it
// leads the group (ModelVersion.await), so the goroutines the network has
// readied submit their rows first and join the batch. An extra P there
// only made a second thread fight the front end for the same cores.
// runtime/LOCKS.md records the measurements behind both choices.
//
// GOMAXPROCS is process-wide, so the plan is too. A GOMAXPROCS set in the
// environment is the operator's choice and is left alone.
type procPlan struct {
	mu        sync.Mutex    // protects: workers, bulk, bulkPs, lingerGen
	base      int           // Ps for the front end: GOMAXPROCS at start
	fixed     bool          // GOMAXPROCS was set in the environment
	workers   int           // serving instance workers with a thread of their own
	bulk      int           // pieces of bulk work running (bulkWork)
	bulkPs    int           // Ps held for bulk work: the most pieces running since it was last idle
	lingerGen int           // counts linger timers; only the latest may give the bulk Ps back
	lingerFor time.Duration // bulkLinger; longer in tests
}

var procs = &procPlan{base: goruntime.GOMAXPROCS(0), fixed: os.Getenv("GOMAXPROCS") != "", lingerFor: bulkLinger}

// bulkLinger is how long the bulk Ps outlive the last piece of bulk work,
// so a job's chunks, one after another, do not resize GOMAXPROCS (a stop
// of the world) each time.
const bulkLinger = time.Second

// add changes the count of serving workers by n and resizes GOMAXPROCS.
func (p *procPlan) add(n int, log *slog.Logger) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.workers += n
	p.resize(log)
}

// bulkWork counts a piece of bulk work (a job's upload being split, a
// chunk being scored) until done is called. Each piece running gets a P,
// as a worker with a thread of its own does, and the Ps stay until bulk
// work has been idle for lingerFor. Bulk work is long stretches of Go code
// (decoding, hashing, queueing) that Go's scheduler preempts only every
// 10 ms; on the front end's Ps alone, an interactive request readied
// behind it waited that long. With Ps of their own, bulk goroutines run on
// threads the OS time-slices against the front end's, and a woken request
// finds an idle P. The batcher and BulkPause still bound bulk's share of
// the time.
func (p *procPlan) bulkWork(log *slog.Logger) (done func()) {
	p.mu.Lock()
	p.bulk++
	p.lingerGen++ // a pending linger timer no longer applies
	if p.bulk > p.bulkPs {
		p.bulkPs = p.bulk
		p.resize(log)
	}
	p.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.bulk--; p.bulk == 0 {
				p.lingerGen++
				gen := p.lingerGen
				time.AfterFunc(p.lingerFor, func() { p.endBulk(gen, log) })
			}
		})
	}
}

// endBulk gives the bulk Ps back if the linger timer gen is the latest:
// no bulk work started since it was set.
func (p *procPlan) endBulk(gen int, log *slog.Logger) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen != p.lingerGen || p.bulk > 0 {
		return
	}
	p.bulkPs = 0
	p.resize(log)
}

// resize sets GOMAXPROCS to the plan; the caller holds mu.
func (p *procPlan) resize(log *slog.Logger) {
	if p.fixed {
		return
	}
	want := p.base + p.workers + p.bulkPs
	if goruntime.GOMAXPROCS(0) != want {
		goruntime.GOMAXPROCS(want)
		log.Debug("GOMAXPROCS resized", "gomaxprocs", want, "front_end", p.base, "workers", p.workers, "bulk", p.bulkPs)
	}
}

// ProcPlan reports GOMAXPROCS and how it is split: Ps kept for the front
// end, and serving instance workers with threads of their own (one P
// each), unless GOMAXPROCS was fixed in the environment.
func ProcPlan() (gomaxprocs, frontEnd, workers int, fixed bool) {
	procs.mu.Lock()
	defer procs.mu.Unlock()
	return goruntime.GOMAXPROCS(0), procs.base, procs.workers, procs.fixed
}

// processCPUs is the CPU set the process started with, read on the main
// thread before any worker pinned its own.
var processCPUs, _ = threadAffinity()

// sameCPUs reports whether a and b hold the same CPUs, in any order.
func sameCPUs(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	in := make(map[int]bool, len(a))
	for _, c := range a {
		in[c] = true
	}
	for _, c := range b {
		if !in[c] {
			return false
		}
	}
	return true
}
