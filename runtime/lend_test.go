package runtime_test

import (
	"context"
	"log/slog"
	goruntime "runtime"
	"sync"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/backendtest"
	"github.com/tiffin-ml/tiffin/runtime"
)

// Instances on every core of the process have no thread of their own: they
// are lent to the request goroutines, which run batches themselves
// (LOCKS.md, "Lent instances"). These tests put every instance on all of
// the process's CPUs so that path is the one exercised.

// lentManager is fakeManager over one inventory entry holding every CPU
// the process may use, so each instance gets all of them.
func lentManager(t *testing.T, repo string, fake *backendtest.Backend) *runtime.Manager {
	t.Helper()
	d, err := runtime.DiscoverDevices(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var all []int
	for _, c := range d.Inventory().Cores {
		all = append(all, c...)
	}
	m := runtime.NewManager(runtime.ManagerOptions{Repository: repo, Backends: backends.NewRegistry(fake),
		Inventory: runtime.Inventory{Cores: [][]int{all}, Nodes: []int{0}}, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil {
			t.Errorf("close manager: %v", err)
		}
	})
	return m
}

// loadLent loads model and checks that every instance is lent.
func loadLent(t *testing.T, m *runtime.Manager, model string, want int) *runtime.ModelVersion {
	t.Helper()
	if err := m.Load(context.Background(), model); err != nil {
		t.Fatal(err)
	}
	v, err := m.Version(model, 0)
	if err != nil {
		t.Fatal(err)
	}
	inst := v.Instances()
	if len(inst) != want {
		t.Fatalf("%d instances, want %d", len(inst), want)
	}
	for _, in := range inst {
		if in.ThreadID != 0 {
			t.Skipf("instance %d has a thread of its own (cores %v): the process's CPUs were not all given to it", in.Instance, in.Device.Cores)
		}
	}
	return v
}

func TestLentInstancesServeAndUnloadUnderLoad(t *testing.T) {
	repo := t.TempDir()
	writeFake(t, repo, "m", "instance_groups: [{kind: cpu, count: 2}]\n", 1)
	fake := backendtest.New(backendtest.Options{})
	fake.SetLatency(2 * time.Millisecond)
	m := lentManager(t, repo, fake)
	loadLent(t, m, "m", 2)
	resp, err := infer(m, "m", 3)
	if err != nil || resp.Outputs[0].Shape[0] != 3 {
		t.Fatalf("one request on a lent instance: %v %+v", err, resp)
	}
	unloadUnderLoad(t, m, fake, 16, 50*time.Millisecond, "both lent instances taken back and closed")
}

// A request whose borrower leads the group through a long window and then
// gives up (its context ends) leaves the queue at once, uncomputed, even
// though nobody else is waiting to lead.
func TestLentLeaderThatGivesUpIsDropped(t *testing.T) {
	repo := t.TempDir()
	writeFake(t, repo, "m", "max_batch_size: 8\nbatching: {mode: static, max_queue_delay: 5s, timeout: 10s}\n", 1)
	fake := backendtest.New(backendtest.Options{})
	m := lentManager(t, repo, fake)
	v := loadLent(t, m, "m", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := m.Infer(ctx, &runtime.InferRequest{Model: "m", Inputs: []backends.Tensor{rows(1)}})
	wantKind(t, err, runtime.KindDeadlineExceeded, "timed out")
	if s := v.BatchStats(); s.Dropped != 1 || s.QueueDepth != 0 || fake.Runs() != 0 {
		t.Fatalf("dropped %d, queue depth %d, runs %d: want the request dropped at once and never run", s.Dropped, s.QueueDepth, fake.Runs())
	}
	// The instance went back to the pool: the next request is served.
	fast, cancelFast := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelFast()
	go func() { _, _ = m.Infer(fast, &runtime.InferRequest{Model: "m", Inputs: []backends.Tensor{rows(7)}}) }()
	if _, err := m.Infer(fast, &runtime.InferRequest{Model: "m", Inputs: []backends.Tensor{rows(1)}}); err != nil {
		t.Fatal(err) // 7 + 1 rows fill the batch of 8 before the window
	}
}

// Lent instances take no P of their own (procs.go): they run on the
// request goroutines' Ps. And a borrower yields before it leads the
// group, so requests readied together share a batch even on one P, where
// without the yield each goroutine ran its own request to the end.
func TestLentInstancesBatchOnOneP(t *testing.T) {
	repo := t.TempDir()
	writeFake(t, repo, "m", "instance_groups: [{kind: cpu, count: 1}]\n", 1)
	fake := backendtest.New(backendtest.Options{})
	m := lentManager(t, repo, fake)
	procsBefore, _, workersBefore, _ := runtime.ProcPlan()
	loadLent(t, m, "m", 1)
	if procs, _, workers, _ := runtime.ProcPlan(); procs != procsBefore || workers != workersBefore {
		t.Fatalf("a lent instance changed the plan: GOMAXPROCS %d → %d, instance workers %d → %d",
			procsBefore, procs, workersBefore, workers)
	}

	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(1))
	const clients = 16
	runs := fake.Runs()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Go(func() {
			if _, err := infer(m, "m", 1); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := fake.Runs() - runs; n > clients/2 {
		t.Fatalf("%d requests readied together ran in %d batches, want them to share batches", clients, n)
	}
}
