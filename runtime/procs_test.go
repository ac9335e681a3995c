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

// Bulk work holds a P per piece running, keeps them while it lingers, and
// gives them back only on the latest linger timer: one set before more
// work came is stale.
func TestBulkWorkHoldsPs(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("GOMAXPROCS is fixed in the environment")
	}
	base := goruntime.GOMAXPROCS(0)
	defer goruntime.GOMAXPROCS(base)
	p := &procPlan{base: base, lingerFor: time.Hour} // the test calls endBulk itself
	log := slog.New(slog.DiscardHandler)
	want := func(n int, when string) {
		t.Helper()
		if got := goruntime.GOMAXPROCS(0); got != n {
			t.Fatalf("%s: GOMAXPROCS %d, want %d", when, got, n)
		}
	}
	a, b := p.bulkWork(log), p.bulkWork(log)
	want(base+2, "two pieces of bulk work")
	a()
	a() // done twice counts once
	want(base+2, "one piece left")
	b()
	want(base+2, "bulk work idle, lingering")
	p.mu.Lock()
	stale := p.lingerGen
	p.mu.Unlock()
	c := p.bulkWork(log) // within the linger: the Ps it holds suffice
	want(base+2, "a piece within the linger")
	c()
	p.endBulk(stale, log)
	want(base+2, "a stale linger timer fired")
	p.mu.Lock()
	latest := p.lingerGen
	p.mu.Unlock()
	p.endBulk(latest, log)
	want(base, "the latest linger timer fired")
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bulk != 0 || p.bulkPs != 0 {
		t.Fatalf("plan after bulk work: %d running, %d Ps held", p.bulk, p.bulkPs)
	}
}
