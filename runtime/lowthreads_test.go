package runtime

import (
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
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !l.run(func() { nices[i], tids[i] = threadNice(t), threadID() }) {
				t.Error("no low thread: the OS refused the priority")
			}
		}()
	}
	wg.Wait()
	for i := range callers {
		if nices[i] != bulkNice {
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
	if l.run(func() { ran = true }) || ran {
		t.Error("a call during the back-off went to a low thread")
	}
}
