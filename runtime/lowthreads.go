package runtime

import (
	goruntime "runtime"
	"sync/atomic"
	"time"
)

// Bulk batches at a low OS priority. While interactive requests arrive, a
// batch that holds only bulk rows runs its backend call on an OS thread at
// nice bulkNice, so that when an interactive request's thread wakes on the
// same core the kernel runs it at once instead of after the bulk batch's
// time slice. Only the backend call moves: the job's Go work stays on Go's
// threads, where a low-priority thread holding a P would stall the front
// end (bench/README.md, "bulk work at a lower OS priority", tried and
// dropped).
//
// An unprivileged process cannot lower a thread's nice value again, so a
// low thread is never handed back to Go: its goroutine stays locked to it
// and exits after lowIdle without work, which ends the thread.
//
// A low thread runs Go code only around the call (a closure, two channel
// operations). If a stop-the-world catches it there on a busy core, the
// stop waits for it; but the stop parks every other Go thread, which frees
// the core for it at once.

// bulkNice is the nice value of the low threads: the kernel weighs nice 19
// at 15 against nice 0's 1,024, so a bulk batch still advances beside a
// saturated front end, slowly. Nice 10 (weight 110) gave a fair-share p99
// of 1.8-2.0x idle against 1.6-1.7x for 19 (bench/README.md).
const bulkNice = 19

// lowSlice is the time slice a low thread asks the kernel for: the
// shortest it grants (0.1 ms).
const lowSlice = 100 * time.Microsecond

// lowIdle is how long a low thread waits for work before it exits.
const lowIdle = 10 * time.Second

// A low thread that gets too little of the core is starving: the front
// end is keeping every core busy. A job must still move then (it took
// 1% of its rate under 32 saturating clients, against 15-25% at normal
// priority), so when a call on a low thread got under lowStarved of the
// core while it ran, bulk calls run at normal priority for lowBackoff and
// the batcher's share alone holds them back.
const (
	lowStarved = 0.05
	lowBackoff = time.Second
	lowJudge   = 2 * time.Millisecond // calls shorter than this say nothing
)

// lowThreads is the process's pool of low-priority threads.
type lowThreads struct {
	calls    chan func()           // unbuffered: a send succeeds only when a thread waits
	refused  atomic.Pointer[error] // why the OS refused a low thread, once: then everything runs in place
	told     atomic.Bool           // the refusal was handed to a logger
	backoff  atomic.Int64          // until when (ns since paceEpoch) calls run in place: a low thread starved
	backoffs atomic.Int64          // how often a low thread starved, for tests
}

var lowPrio = &lowThreads{calls: make(chan func())}

// run runs fn on a low thread and waits for it. It reports false, without
// running fn, when no low thread could be had; the caller then runs fn
// itself. Else it also reports the CPU time fn used on the thread (0 if
// unknown), which is less than fn's wall time by how long the thread
// waited for the core. A panic in fn is raised again here.
func (l *lowThreads) run(fn func()) (cpu time.Duration, ok bool) {
	if l.refused.Load() != nil || int64(time.Since(paceEpoch)) < l.backoff.Load() {
		return 0, false
	}
	done := make(chan any, 1)
	call := func() {
		defer func() { done <- recover() }()
		start, cpu0 := time.Now(), threadCPU()
		fn()
		if cpu0 > 0 {
			cpu = threadCPU() - cpu0
		}
		l.judge(time.Since(start), cpu)
	}
	select {
	case l.calls <- call:
	default:
		if !l.start(call) {
			return 0, false
		}
	}
	if p := <-done; p != nil {
		panic(p)
	}
	return cpu, true // written before done was sent
}

// start starts a low thread that runs first, then whatever is sent to it,
// and reports false if the OS refused it the priority.
func (l *lowThreads) start(first func()) bool {
	ok := make(chan bool, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: the thread ends with this goroutine
		// A new thread may have been cloned from a pinned worker's and
		// share its pin; a low thread runs on any of the process's cores.
		err := pinThread(processCPUs)
		if err == nil {
			err = setThreadNice(bulkNice)
		}
		if err != nil {
			l.refused.CompareAndSwap(nil, &err)
			ok <- false
			return
		}
		ok <- true
		first()
		idle := time.NewTimer(lowIdle)
		defer idle.Stop()
		for {
			select {
			case fn := <-l.calls:
				fn()
				idle.Reset(lowIdle)
			case <-idle.C:
				return
			}
		}
	}()
	return <-ok
}

// refusal reports why the OS refused a low thread: nil if it never did.
func (l *lowThreads) refusal() error {
	if p := l.refused.Load(); p != nil {
		return *p
	}
	return nil
}

// untoldRefusal reports the refusal to the first caller that asks after
// it happened, and nil to every other, so that it is logged once.
func (l *lowThreads) untoldRefusal() error {
	if err := l.refusal(); err != nil && !l.told.Swap(true) {
		return err
	}
	return nil
}

// judge backs off from low threads when a call that took wall of time got
// under lowStarved of it on the core.
func (l *lowThreads) judge(wall, cpu time.Duration) {
	if wall >= lowJudge && float64(cpu) < lowStarved*float64(wall) {
		l.backoff.Store(int64(time.Since(paceEpoch) + lowBackoff))
		l.backoffs.Add(1)
	}
}

// lowPriorityFor reports whether a batch's backend call should run on a
// low thread: it holds only bulk rows, interactive requests arrived
// lately, and the instance has no thread of its own (a pinned worker
// keeps its pin and its thread).
func (w *worker) lowPriorityFor(bulkOnly bool) bool {
	return bulkOnly && w.interactive != nil && !w.ownThread() && w.interactive()
}
