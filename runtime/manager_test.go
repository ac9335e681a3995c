package runtime_test

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/backendtest"
	"github.com/tiffin-ml/tiffin/runtime"
)

// These tests drive a real Manager (placement, workers, batcher) with the
// fake backend, so they need no native library and run with CGO_ENABLED=0.

// fakeManager returns a manager over repo with the fake backend as its only
// backend, closed when the test ends.
func fakeManager(t *testing.T, repo string, fake *backendtest.Backend) *runtime.Manager {
	t.Helper()
	m := runtime.NewManager(runtime.ManagerOptions{Repository: repo, Backends: backends.NewRegistry(fake),
		Inventory: runtime.Inventory{Cores: [][]int{{0}}, Nodes: []int{0}}, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil {
			t.Errorf("close manager: %v", err)
		}
	})
	return m
}

// writeFake writes a fake model with the given versions and config.yaml.
func writeFake(t *testing.T, repo, name, config string, versions ...int64) {
	t.Helper()
	if err := backendtest.WriteModel(repo, name, config, versions...); err != nil {
		t.Fatal(err)
	}
}

// rows returns an FP32 "x" of n rows of 4, holding 0, 1, 2, ...
func rows(n int) backends.Tensor {
	data := make([]byte, n*4*4)
	for i := range n * 4 {
		binary.LittleEndian.PutUint32(data[i*4:], math.Float32bits(float32(i)))
	}
	return backends.Tensor{Name: "x", DataType: backends.FP32, Shape: []int64{int64(n), 4}, Data: data}
}

func infer(m *runtime.Manager, model string, n int) (*runtime.InferResponse, error) {
	return m.Infer(context.Background(), &runtime.InferRequest{Model: model, Inputs: []backends.Tensor{rows(n)}})
}

func wantKind(t *testing.T, err error, kind runtime.Kind, substr string) {
	t.Helper()
	if err == nil || runtime.KindOf(err) != kind || !strings.Contains(err.Error(), substr) {
		t.Fatalf("got %v (kind %v), want kind %v naming %q", err, runtime.KindOf(err), kind, substr)
	}
}

func TestManagerLoadsAndServes(t *testing.T) {
	repo := t.TempDir()
	writeFake(t, repo, "m", "", 1)
	fake := backendtest.New(backendtest.Options{})
	m := fakeManager(t, repo, fake)
	if err := m.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m.Readiness(true) != nil {
		t.Fatalf("not ready: %+v", m.Index())
	}
	v, err := m.Version("m", 0)
	if err != nil {
		t.Fatal(err)
	}
	if v.Backend != backendtest.Name || v.Sig.MaxBatchSize <= 0 || v.Config.Batching.Mode != "adaptive" {
		t.Fatalf("backend %q, max batch %d, mode %q: want the fake, inferred batching, adaptive",
			v.Backend, v.Sig.MaxBatchSize, v.Config.Batching.Mode)
	}
	resp, err := infer(m, "m", 3)
	if err != nil {
		t.Fatal(err)
	}
	want := rows(3)
	if len(resp.Outputs) != 1 || resp.Outputs[0].Name != "y" || !reflect.DeepEqual(resp.Outputs[0].Data, want.Data) {
		t.Fatalf("outputs %+v, want y = x", resp.Outputs)
	}
	if resp.Version != 1 || fake.Loads() != 1 || fake.Runs() < 1 {
		t.Fatalf("version %d, loads %d, runs %d", resp.Version, fake.Loads(), fake.Runs())
	}
	_, err = m.Infer(context.Background(), &runtime.InferRequest{Model: "nope", Inputs: []backends.Tensor{rows(1)}})
	wantKind(t, err, runtime.KindNotFound, `"nope"`)
	bad := rows(1)
	bad.Shape = []int64{1, 5}
	_, err = m.Infer(context.Background(), &runtime.InferRequest{Model: "m", Inputs: []backends.Tensor{bad}})
	wantKind(t, err, runtime.KindInvalidArgument, "x")
}

func TestManagerVersionPolicy(t *testing.T) {
	cases := []struct {
		config string
		want   []int64
	}{
		{"", []int64{3}},
		{"version_policy: {latest: 2}\n", []int64{2, 3}},
		{"version_policy: {all: true}\n", []int64{1, 2, 3}},
		{"version_policy: {specific: [1, 3]}\n", []int64{1, 3}},
	}
	for _, c := range cases {
		t.Run(strings.TrimSpace(c.config), func(t *testing.T) {
			repo := t.TempDir()
			writeFake(t, repo, "m", c.config, 1, 2, 3)
			fake := backendtest.New(backendtest.Options{})
			m := fakeManager(t, repo, fake)
			if err := m.Load(context.Background(), "m"); err != nil {
				t.Fatal(err)
			}
			got, err := m.Versions("m")
			if err != nil || !reflect.DeepEqual(got, c.want) || fake.Loads() != int64(len(c.want)) {
				t.Fatalf("versions %v (%v), loads %d; want %v", got, err, fake.Loads(), c.want)
			}
			resp, err := infer(m, "m", 1)
			if err != nil || resp.Version != c.want[len(c.want)-1] {
				t.Fatalf("a request without a version went to %+v (%v), want the newest", resp, err)
			}
			if _, err := m.Version("m", 4); runtime.KindOf(err) != runtime.KindNotFound {
				t.Fatalf("version 4: %v, want not found", err)
			}
		})
	}
}

func TestManagerLoadFailures(t *testing.T) {
	cases := []struct {
		name   string
		config string
		fault  func(*backendtest.Backend)
		reason string
	}{
		{"load error", "", func(b *backendtest.Backend) { b.FailLoads(errors.New("weights are corrupt")) }, "weights are corrupt"},
		{"load panic", "", func(b *backendtest.Backend) { b.PanicLoads("bad op") }, "panicked"},
		{"unavailable", "", func(b *backendtest.Backend) { b.SetUnavailable(errors.New("no library")) }, "no library"},
		{"bad config", "max_batch_size: -1\n", func(*backendtest.Backend) {}, "max_batch_size"},
		{"unknown backend", "backend: nope\n", func(*backendtest.Backend) {}, `config.yaml: backend: unknown backend "nope"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repo := t.TempDir()
			writeFake(t, repo, "m", c.config, 1)
			writeFake(t, repo, "ok", "", 1)
			fake := backendtest.New(backendtest.Options{})
			c.fault(fake)
			m := fakeManager(t, repo, fake)
			if err := m.Load(context.Background(), "m"); err == nil || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("Load: %v, want an error naming %q", err, c.reason)
			}
			idx := m.Index()
			if len(idx) != 1 || idx[0].State != runtime.StateUnavailable || !strings.Contains(idx[0].Reason, c.reason) {
				t.Fatalf("index %+v, want m UNAVAILABLE naming %q", idx, c.reason)
			}
			_, err := infer(m, "m", 1)
			wantKind(t, err, runtime.KindUnavailable, c.reason)
			if m.Readiness(true) == nil {
				t.Fatal("strict readiness with an unavailable model")
			}
			if fake.Open() != 0 {
				t.Fatalf("%d instances left open by a failed load", fake.Open())
			}
		})
	}
}

// When `backend: auto` passes over a backend that is unavailable (ONNX
// Runtime without its library) and the one it falls back to cannot load
// the model (gorgonia and an FP64 input), the reason names both: the
// fallback's failure alone hides that the backend the model needs is
// missing, and what to do about it (README, Security model: "the reason
// names make ort").
func TestManagerAutoFallbackFailureNamesPassedOver(t *testing.T) {
	repo := t.TempDir()
	writeFake(t, repo, "m", "", 1)
	first := backendtest.New(backendtest.Options{Name: "first", AutoOrder: 1})
	first.SetUnavailable(errors.New(`library not found (run "make ort")`))
	second := backendtest.New(backendtest.Options{Name: "second", AutoOrder: 2})
	second.FailLoads(errors.New("input has datatype FP64"))
	m := runtime.NewManager(runtime.ManagerOptions{Repository: repo, Backends: backends.NewRegistry(first, second),
		Inventory: runtime.Inventory{Cores: [][]int{{0}}, Nodes: []int{0}}, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	err := m.Load(context.Background(), "m")
	for _, want := range []string{"input has datatype FP64", "backend auto chose second", `first: library not found (run "make ort")`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Load: %v, want an error naming %q", err, want)
		}
	}
	if idx := m.Index(); len(idx) != 1 || !strings.Contains(idx[0].Reason, "make ort") {
		t.Fatalf("index %+v, want m's reason to name make ort", idx)
	}
	second.FailLoads(nil) // a load that succeeds says nothing of the fallback
	if err := m.Load(context.Background(), "m"); err != nil {
		t.Fatal(err)
	}
}

// Readiness says why the server is not ready: the repository still
// loading, or the first model that is not READY with its reason.
func TestManagerReadinessSaysWhy(t *testing.T) {
	repo := t.TempDir()
	writeFake(t, repo, "bad", "max_batch_size: -1\n", 1)
	writeFake(t, repo, "ok", "", 1)
	m := fakeManager(t, repo, backendtest.New(backendtest.Options{}))
	wantKind(t, m.Readiness(false), runtime.KindUnavailable, "still loading")
	_ = m.LoadAll(context.Background()) // bad's failure is its state
	wantKind(t, m.Readiness(true), runtime.KindUnavailable, "model bad is UNAVAILABLE: ")
	wantKind(t, m.Readiness(true), runtime.KindUnavailable, "max_batch_size")
	if err := m.Readiness(false); err != nil {
		t.Fatalf("not strict, repository loaded: %v", err)
	}
}

func TestManagerReloadRecovers(t *testing.T) {
	repo := t.TempDir()
	writeFake(t, repo, "m", "", 1)
	fake := backendtest.New(backendtest.Options{})
	fake.FailLoads(errors.New("not yet"))
	m := fakeManager(t, repo, fake)
	if err := m.Load(context.Background(), "m"); err == nil {
		t.Fatal("the first load should fail")
	}
	fake.FailLoads(nil)
	if err := m.Load(context.Background(), "m"); err != nil {
		t.Fatal(err)
	}
	if _, err := infer(m, "m", 1); err != nil {
		t.Fatal(err)
	}
}

// Every failed load is in the log with its reason, whoever asked for it
// (the repository API's answer may cut paths; the log keeps them): a
// model's first load, a reload, a name with no folder.
func TestManagerLogsLoadFailures(t *testing.T) {
	repo := t.TempDir()
	writeFake(t, repo, "m", "", 1)
	fake := backendtest.New(backendtest.Options{})
	logFile, err := os.Create(filepath.Join(t.TempDir(), "log")) // safe for the workers' goroutines too
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	log := func() string { b, _ := os.ReadFile(logFile.Name()); return string(b) }
	m := runtime.NewManager(runtime.ManagerOptions{Repository: repo, Backends: backends.NewRegistry(fake),
		Inventory: runtime.Inventory{Cores: [][]int{{0}}, Nodes: []int{0}}, Logger: slog.New(slog.NewTextHandler(logFile, nil))})
	defer m.Close(context.Background())
	ctx := context.Background()
	fake.FailLoads(errors.New("weights are corrupt"))
	if err := m.Load(ctx, "m"); err == nil {
		t.Fatal("the first load should fail")
	}
	if got := log(); !strings.Contains(got, `level=ERROR msg="load failed; the model is unavailable" model=m`) || !strings.Contains(got, "weights are corrupt") {
		t.Fatalf("a failed first load logged:\n%s", got)
	}
	fake.FailLoads(nil)
	if err := m.Load(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	fake.FailLoads(errors.New("new weights are corrupt"))
	if err := m.Load(ctx, "m"); err == nil {
		t.Fatal("the reload should fail")
	}
	if got := log(); !strings.Contains(got, `msg="reload failed; the serving versions stay" model=m`) || !strings.Contains(got, "new weights are corrupt") {
		t.Fatalf("a failed reload logged:\n%s", got)
	}
	if err := m.Load(ctx, "absent"); runtime.KindOf(err) != runtime.KindNotFound {
		t.Fatalf("load of a name with no folder: %v", err)
	}
	if got := log(); !strings.Contains(got, `msg="load failed" model=absent`) {
		t.Fatalf("a load of a name with no folder logged:\n%s", got)
	}
	if n := strings.Count(log(), "level=ERROR"); n != 3 {
		t.Fatalf("%d error lines for three failures:\n%s", n, log())
	}
}

func TestManagerRunFailures(t *testing.T) {
	cases := []struct {
		name   string
		fault  func(*backendtest.Backend)
		reason string
	}{
		{"run error", func(b *backendtest.Backend) { b.FailRuns(errors.New("device lost")) }, "device lost"},
		{"run panic", func(b *backendtest.Backend) { b.PanicRuns("index out of range") }, "panicked: index out of range"},
		{"wrong batch axis", func(b *backendtest.Backend) { b.WrongBatchAxis(1) }, "want 2 rows on the batch axis"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repo := t.TempDir()
			writeFake(t, repo, "m", "", 1)
			fake := backendtest.New(backendtest.Options{})
			m := fakeManager(t, repo, fake)
			if err := m.Load(context.Background(), "m"); err != nil {
				t.Fatal(err)
			}
			c.fault(fake)
			_, err := infer(m, "m", 2)
			wantKind(t, err, runtime.KindInternal, c.reason)
			if n := strings.Count(err.Error(), c.reason); n != 1 {
				t.Fatalf("%q names its cause %d times, want once", err, n)
			}
			fake.FailRuns(nil)
			fake.PanicRuns(nil)
			fake.WrongBatchAxis(0)
			if _, err := infer(m, "m", 2); err != nil {
				t.Fatalf("the instance should survive a failed batch: %v", err)
			}
		})
	}
}

func TestManagerTimeoutAndQueueFull(t *testing.T) {
	repo := t.TempDir()
	writeFake(t, repo, "m", "max_batch_size: 0\nbatching: {max_queue_size: 1}\n", 1)
	fake := backendtest.New(backendtest.Options{})
	m := fakeManager(t, repo, fake)
	if err := m.Load(context.Background(), "m"); err != nil {
		t.Fatal(err)
	}
	fake.SetLatency(300 * time.Millisecond)
	req := func(timeout time.Duration) error {
		_, err := m.Infer(context.Background(), &runtime.InferRequest{Model: "m", Inputs: []backends.Tensor{rows(1)}, Timeout: timeout})
		return err
	}
	wantKind(t, req(20*time.Millisecond), runtime.KindDeadlineExceeded, "timed out after 20ms")
	// One request runs, one waits in the queue of one: the next is refused.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { _ = req(time.Second) })
		time.Sleep(50 * time.Millisecond)
	}
	err := req(time.Second)
	wg.Wait()
	wantKind(t, err, runtime.KindResourceExhausted, "queue is full")
	if !errors.Is(err, runtime.ErrQueueFull) {
		t.Fatalf("%v is not runtime.ErrQueueFull", err)
	}
}

// load runs closed-loop clients against model until stop is closed, and
// returns a function that waits for them and reports each error by kind.
func load(m *runtime.Manager, model string, clients int, stop <-chan struct{}) func() (int64, map[runtime.Kind][]error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok atomic.Int64
	errs := map[runtime.Kind][]error{}
	for range clients {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := infer(m, model, 1); err != nil {
					mu.Lock()
					errs[runtime.KindOf(err)] = append(errs[runtime.KindOf(err)], err)
					mu.Unlock()
					continue
				}
				ok.Add(1)
			}
		})
	}
	return func() (int64, map[runtime.Kind][]error) { wg.Wait(); return ok.Load(), errs }
}

func TestManagerReloadUnderLoad(t *testing.T) {
	repo := t.TempDir()
	writeFake(t, repo, "m", "", 1)
	fake := backendtest.New(backendtest.Options{})
	fake.SetLatency(time.Millisecond)
	m := fakeManager(t, repo, fake)
	if err := m.Load(context.Background(), "m"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	wait := load(m, "m", 8, stop)
	for range 3 {
		time.Sleep(20 * time.Millisecond)
		if err := m.Load(context.Background(), "m"); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond)
	close(stop)
	ok, errs := wait()
	if len(errs) > 0 || ok == 0 {
		t.Fatalf("a reload must not fail requests: %d ok, errors %v", ok, errs)
	}
	deadline := time.Now().Add(5 * time.Second)
	for fake.Open() != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // old versions drain in the background
	}
	if fake.Loads() != 4 || fake.Open() != 1 {
		t.Fatalf("loads %d, open %d: want 4 loads and only the newest open", fake.Loads(), fake.Open())
	}
}

func TestManagerUnloadUnderLoad(t *testing.T) {
	repo := t.TempDir()
	writeFake(t, repo, "m", "instance_groups: [{kind: cpu, count: 2}]\n", 1)
	fake := backendtest.New(backendtest.Options{})
	fake.SetLatency(2 * time.Millisecond)
	m := fakeManager(t, repo, fake)
	if err := m.Load(context.Background(), "m"); err != nil {
		t.Fatal(err)
	}
	unloadUnderLoad(t, m, fake, 8, 30*time.Millisecond, "both instances closed")
	if err := m.Unload(context.Background(), "m"); runtime.KindOf(err) != runtime.KindNotFound {
		t.Fatalf("second unload: %v, want not found", err)
	}
}

// unloadUnderLoad unloads model "m", whose two instances are loaded, while
// clients goroutines send it requests (after settle), and checks that both
// instances are closed, that requests fail only as not found or
// unavailable, and that some succeeded first.
func unloadUnderLoad(t *testing.T, m *runtime.Manager, fake *backendtest.Backend, clients int, settle time.Duration, want string) {
	t.Helper()
	stop := make(chan struct{})
	wait := load(m, "m", clients, stop)
	time.Sleep(settle)
	if err := m.Unload(context.Background(), "m"); err != nil {
		t.Fatal(err)
	}
	if fake.Open() != 0 || fake.Closes() != 2 {
		t.Fatalf("after Unload: %d open, %d closed; want %s", fake.Open(), fake.Closes(), want)
	}
	close(stop)
	ok, errs := wait()
	for k, es := range errs {
		if k != runtime.KindNotFound && k != runtime.KindUnavailable {
			t.Fatalf("unload under load: %d errors of kind %v, e.g. %v", len(es), k, es[0])
		}
	}
	if ok == 0 {
		t.Fatal("no request succeeded before the unload")
	}
}

// BenchmarkManagerVersion measures the lookup every request that names no
// version makes: the newest READY of three versions.
func BenchmarkManagerVersion(b *testing.B) {
	repo := b.TempDir()
	if err := backendtest.WriteModel(repo, "m", "version_policy: {all: true}\n", 1, 2, 3); err != nil {
		b.Fatal(err)
	}
	m := runtime.NewManager(runtime.ManagerOptions{Repository: repo, Backends: backends.NewRegistry(backendtest.New(backendtest.Options{})),
		Inventory: runtime.Inventory{Cores: [][]int{{0}}, Nodes: []int{0}}, Logger: slog.New(slog.DiscardHandler)})
	b.Cleanup(func() { _ = m.Close(context.Background()) })
	if err := m.Load(context.Background(), "m"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if v, err := m.Version("m", 0); err != nil || v.Version != 3 {
			b.Fatalf("version %v, %v; want 3", v, err)
		}
	}
}

// Loading a name that is not a model folder (a file beside them, a name
// too long for a folder) records nothing: the index, and the strict
// readiness read from it, stay as they were.
func TestManagerLoadNonModelNames(t *testing.T) {
	repo := t.TempDir()
	writeFake(t, repo, "m", "", 1)
	if err := os.WriteFile(filepath.Join(repo, "README.md"), []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := fakeManager(t, repo, backendtest.New(backendtest.Options{}))
	if err := m.Load(context.Background(), "m"); err != nil {
		t.Fatal(err)
	}
	for name, kind := range map[string]runtime.Kind{"README.md": runtime.KindNotFound, strings.Repeat("a", 300): runtime.KindInvalidArgument} {
		err := m.Load(context.Background(), name)
		if runtime.KindOf(err) != kind {
			t.Fatalf("load %.20q: %v, want %v", name, err, kind)
		}
	}
	if idx := m.Index(); len(idx) != 1 || idx[0].Model != "m" || idx[0].State != runtime.StateReady {
		t.Fatalf("index %+v: want only m, READY (strict readiness reads it)", idx)
	}
}

// A model name of megabytes (gRPC carries one in its message) is not
// echoed back whole in the error.
func TestUnknownLongNameIsCut(t *testing.T) {
	m := fakeManager(t, t.TempDir(), backendtest.New(backendtest.Options{}))
	_, err := m.Version(strings.Repeat("m", 32<<20), 0)
	if runtime.KindOf(err) != runtime.KindNotFound || len(err.Error()) > 400 || !strings.Contains(err.Error(), "(33554432 bytes)") {
		t.Fatalf("%.300v (%d bytes)", err, len(err.Error()))
	}
}

// A reload to a version policy that selects none of the folders on disk
// fails and keeps the serving versions, as in Triton; a first load of one
// is UNAVAILABLE, naming the policy and the folders.
func TestManagerPolicySelectingNothing(t *testing.T) {
	repo := t.TempDir()
	writeFake(t, repo, "m", "", 1, 2)
	m := fakeManager(t, repo, backendtest.New(backendtest.Options{}))
	if err := m.Load(context.Background(), "m"); err != nil {
		t.Fatal(err)
	}
	writeFake(t, repo, "m", "version_policy: {specific: [3]}\n")
	err := m.Load(context.Background(), "m")
	if runtime.KindOf(err) != runtime.KindInvalidArgument || !strings.Contains(err.Error(), "the version policy (specific: [3]) selects none of the version folders [1 2]") {
		t.Fatalf("reload to a policy selecting nothing: %v", err)
	}
	if resp, err := infer(m, "m", 1); err != nil || resp.Version != 2 {
		t.Fatalf("after the failed reload: %+v %v; want version 2 serving", resp, err)
	}
	writeFake(t, repo, "n", "version_policy: {specific: [9]}\n", 1)
	if err := m.Load(context.Background(), "n"); err == nil {
		t.Fatal("a first load selecting nothing succeeded")
	}
	_, err = infer(m, "n", 1)
	wantKind(t, err, runtime.KindUnavailable, "selects none of the version folders [1]")
}

// A stop signal during start leaves the models not yet begun unloaded:
// the server stops without loading the rest of the repository first.
func TestLoadNamesStopsWhenAskedTo(t *testing.T) {
	repo := t.TempDir()
	writeFake(t, repo, "a", "", 1)
	writeFake(t, repo, "b", "", 1)
	fake := backendtest.New(backendtest.Options{})
	m := fakeManager(t, repo, fake)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.LoadNames(ctx, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	if fake.Loads() != 0 || len(m.Index()) != 0 {
		t.Fatalf("loads %d, index %+v after a stop: want none", fake.Loads(), m.Index())
	}
	if err := m.LoadNames(context.Background(), []string{"a", "b"}); err != nil || fake.Loads() != 2 {
		t.Fatalf("loads %d, %v", fake.Loads(), err)
	}
}
