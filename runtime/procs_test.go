package runtime

import (
	"log/slog"
	"os"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
)

func TestWorkerOwnThread(t *testing.T) {
	if len(processCPUs) == 0 {
		t.Skip("no CPU affinity on this OS")
	}
	w := func(kind backends.DeviceKind, cores []int) *worker {
		return &worker{spec: backends.LoadSpec{Device: backends.Device{Kind: kind, Cores: cores}}}
	}
	if w(backends.CPU, processCPUs).ownThread() {
		t.Error("an instance on every process CPU got a locked thread")
	}
	if !w(backends.GPU, nil).ownThread() {
		t.Error("a GPU instance has no thread of its own")
	}
	if len(processCPUs) > 1 && !w(backends.CPU, processCPUs[:1]).ownThread() {
		t.Error("an instance on some of the CPUs is not pinned")
	}
	if !sameCPUs([]int{2, 0, 1}, []int{0, 1, 2}) || sameCPUs([]int{0, 1}, []int{0, 2}) {
		t.Error("sameCPUs")
	}
}

// Bulk work holds one P more while it runs and for lingerFor after, then
// gives it back; pieces that overlap or follow within lingerFor share it.
func TestBulkWorkHoldsOneP(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("GOMAXPROCS is fixed in the environment")
	}
	base := goruntime.GOMAXPROCS(0)
	defer goruntime.GOMAXPROCS(base)
	p := &procPlan{base: base, lingerFor: 20 * time.Millisecond}
	log := slog.New(slog.DiscardHandler)
	a, b := p.bulkWork(log), p.bulkWork(log)
	if n := goruntime.GOMAXPROCS(0); n != base+1 {
		t.Fatalf("two pieces of bulk work: GOMAXPROCS %d, want %d", n, base+1)
	}
	a()
	a() // done twice counts once
	b()
	if n := goruntime.GOMAXPROCS(0); n != base+1 {
		t.Fatalf("just after the last piece: GOMAXPROCS %d, want the P kept (%d)", n, base+1)
	}
	c := p.bulkWork(log) // within the linger: keeps the same P
	c()
	deadline := time.Now().Add(5 * time.Second)
	for goruntime.GOMAXPROCS(0) != base {
		if time.Now().After(deadline) {
			t.Fatalf("bulk work idle: GOMAXPROCS still %d, want %d", goruntime.GOMAXPROCS(0), base)
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bulk != 0 || p.bulkP || p.linger != nil {
		t.Fatalf("plan after bulk work: %d running, P held %v, linger %v", p.bulk, p.bulkP, p.linger != nil)
	}
}
