package runtime

import (
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/batcher"
)

// threadNice reads the calling thread's nice value from /proc; the caller
// holds its thread.
func threadNice(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", threadID()))
	if err != nil {
		t.Skipf("no per-thread stat: %v", err)
	}
	// Fields after the command's closing parenthesis: state is field 3, nice field 19.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	n, err := strconv.Atoi(f[19-3])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLowThreadsRunAtBulkNice(t *testing.T) {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	before := threadNice(t)
	l := &lowThreads{calls: make(chan func())} // not lowPrio: other tests may have made it back off
	const callers = 4
	var wg sync.WaitGroup
	nices := make([]int, callers)
	tids := make([]int, callers)
	ran := make([]bool, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ran[i] = l.run(func() { nices[i], tids[i] = threadNice(t), threadID() })
		}()
	}
	wg.Wait()
	if err := l.refusal(); err != nil {
		// Some sandboxes refuse setpriority or a CPU set; the server then
		// runs bulk batches in place and says so once (TestLowThreadsRefusal).
		t.Skipf("the OS refused a low thread here: %v", err)
	}
	for i := range callers {
		if !ran[i] {
			t.Errorf("call %d found no low thread, and the OS refused nothing", i)
		} else if nices[i] != bulkNice {
			t.Errorf("call %d ran at nice %d, want %d", i, nices[i], bulkNice)
		}
		if tids[i] == threadID() {
			t.Errorf("call %d ran on the caller's thread", i)
		}
	}
	if after := threadNice(t); after != before {
		t.Errorf("the caller's thread moved from nice %d to %d", before, after)
	}
}

// A refusal makes every later call run in place, and is told once.
func TestLowThreadsRefusal(t *testing.T) {
	l := &lowThreads{calls: make(chan func())}
	if l.untoldRefusal() != nil {
		t.Fatal("a refusal told before any happened")
	}
	err := errors.New("set thread nice 19: operation not permitted")
	l.refused.Store(&err)
	if _, ok := l.run(func() { t.Error("a call ran on a low thread after a refusal") }); ok {
		t.Error("run reported a low thread after a refusal")
	}
	if got := l.untoldRefusal(); got != err {
		t.Errorf("first ask got %v, want the refusal", got)
	}
	if got := l.untoldRefusal(); got != nil {
		t.Errorf("second ask got %v, want nil: the refusal is told once", got)
	}
}

func TestLowThreadsPanicReachesCaller(t *testing.T) {
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v, want the call's panic", r)
		}
	}()
	l := &lowThreads{calls: make(chan func())}
	l.run(func() { panic("boom") })
	t.Fatal("run returned after its call panicked")
}

func TestLowPriorityFor(t *testing.T) {
	recent := true
	lent := &worker{interactive: func() bool { return recent },
		spec: backends.LoadSpec{Device: backends.Device{Kind: backends.CPU, Cores: processCPUs}}}
	bulk := batcher.Batch[*inflight]{Parts: []batcher.Part[*inflight]{{Req: &inflight{priority: batcher.Priority(PriorityBulk)}}}}
	mixed := batcher.Batch[*inflight]{Parts: append(bulk.Parts, batcher.Part[*inflight]{Req: &inflight{priority: batcher.Interactive}})}
	switch {
	case !lent.lowPriorityFor(bulk.BulkOnly()):
		t.Error("a bulk batch beside interactive traffic ran at normal priority")
	case lent.lowPriorityFor(mixed.BulkOnly()):
		t.Error("a batch holding interactive rows ran at low priority")
	}
	recent = false
	if lent.lowPriorityFor(bulk.BulkOnly()) {
		t.Error("a bulk batch with no interactive traffic ran at low priority")
	}
}

// TestLowThreadsBackOffWhenStarved checks that a call that got under
// lowStarved of the core sends the next calls to normal priority for
// lowBackoff, and that one that got its core does not.
func TestLowThreadsBackOffWhenStarved(t *testing.T) {
	l := &lowThreads{calls: make(chan func())}
	l.judge(10*time.Millisecond, 8*time.Millisecond)
	l.judge(time.Millisecond, 0) // too short to say anything
	if l.backoffs.Load() != 0 {
		t.Fatal("a call that had its core, or a short one, backed off")
	}
	l.judge(50*time.Millisecond, time.Millisecond)
	if l.backoffs.Load() != 1 {
		t.Fatal("a starved call did not back off")
	}
	ran := false
	if _, ok := l.run(func() { ran = true }); ok || ran {
		t.Error("a call during the back-off went to a low thread")
	}
}

// run reports the CPU time its call used on the low thread: about the
// call's work, never more than its wall time.
func TestLowThreadsReportCPU(t *testing.T) {
	if threadCPU() == 0 {
		t.Skip("no per-thread CPU clock here")
	}
	l := &lowThreads{calls: make(chan func())}
	start := time.Now()
	cpu, ok := l.run(func() {
		for t0 := threadCPU(); threadCPU()-t0 < 20*time.Millisecond; {
		}
	})
	wall := time.Since(start)
	if !ok {
		t.Skip("the OS refused the low priority")
	}
	if cpu < 20*time.Millisecond || cpu > wall {
		t.Fatalf("a call that spun 20 ms of CPU reported %v (wall %v)", cpu, wall)
	}
}

func TestLearnedCost(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		wall, cpu time.Duration
		threads   int
		want      time.Duration
	}{
		{3 * ms, ms, 1, ms},     // a low call that waited 2 ms for the core
		{3 * ms, 0, 1, 3 * ms},  // ran in place: no CPU figure
		{3 * ms, ms, 2, 3 * ms}, // ONNX Runtime's pool did part of it
		{ms, 2 * ms, 1, ms},     // clocks disagree: never more than the wall
		{3 * ms, ms, 0, 3 * ms}, // threads unknown
	} {
		if got := learnedCost(c.wall, c.cpu, c.threads); got != c.want {
			t.Errorf("learnedCost(%v, %v, %d) = %v, want %v", c.wall, c.cpu, c.threads, got, c.want)
		}
	}
}
