package gpu

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeSource counts its calls; sample n reports UtilizationGPU n.
type fakeSource struct {
	openErr error

	mu            sync.Mutex // protects: n, opens, closes
	n             int
	opens, closes int
}

func (f *fakeSource) open() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opens++
	return f.openErr
}

func (f *fakeSource) sample() []Sample {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return []Sample{{Index: 0, UtilizationGPU: uint32(f.n)}, {Index: 1}}
}

func (f *fakeSource) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closes++
}

func (f *fakeSource) counts() (opens, closes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opens, f.closes
}

// waitFor polls cond until it holds or a few seconds have passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSamplerLifecycle(t *testing.T) {
	src := &fakeSource{}
	s := newSampler(src, SamplerConfig{Interval: time.Millisecond})
	if s.Latest() != nil {
		t.Error("Latest before Start is not nil")
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := s.Latest(); len(got) != 2 || got[0].UtilizationGPU != 1 {
		t.Errorf("first sample = %+v, want the one taken by Start", got)
	}
	waitFor(t, "three rounds", func() bool { return s.Latest()[0].UtilizationGPU >= 3 })
	if err := s.Start(context.Background()); !errors.Is(err, ErrSamplerStarted) {
		t.Errorf("second Start = %v, want ErrSamplerStarted", err)
	}
	s.Stop()
	s.Stop()
	if opens, closes := src.counts(); opens != 1 || closes != 1 {
		t.Errorf("source opened %d and closed %d times, want 1 and 1", opens, closes)
	}
	if len(s.Latest()) != 2 {
		t.Error("Latest after Stop lost the last round")
	}
}

func TestSamplerStopWithoutStart(t *testing.T) {
	src := &fakeSource{}
	newSampler(src, SamplerConfig{}).Stop()
	if _, closes := src.counts(); closes != 0 {
		t.Errorf("closed a source that was never opened")
	}
}

func TestSamplerOpenError(t *testing.T) {
	src := &fakeSource{openErr: errors.New("no nvml")}
	s := newSampler(src, SamplerConfig{})
	if err := s.Start(context.Background()); err == nil {
		t.Fatal("Start succeeded with a failing source")
	}
	s.Stop()
	if _, closes := src.counts(); closes != 0 || s.Latest() != nil {
		t.Errorf("closes = %d, Latest = %v after a failed Start", closes, s.Latest())
	}
}

func TestSamplerStopsWithContext(t *testing.T) {
	src := &fakeSource{}
	s := newSampler(src, SamplerConfig{Interval: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	waitFor(t, "the source to close", func() bool { _, c := src.counts(); return c == 1 })
	s.Stop() // still fine after the context ended it
}

func TestSamplerDefaultInterval(t *testing.T) {
	if s := newSampler(&fakeSource{}, SamplerConfig{}); s.interval != DefaultSampleInterval {
		t.Errorf("interval = %v, want %v", s.interval, DefaultSampleInterval)
	}
}

func TestSamplerConcurrentReaders(t *testing.T) {
	s := newSampler(&fakeSource{}, SamplerConfig{Interval: 100 * time.Microsecond})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 2000 {
				got := s.Latest()
				if len(got) != 2 || got[1].UtilizationGPU != 0 {
					t.Errorf("Latest = %+v", got)
					return
				}
				got[1].UtilizationGPU = 99 // the caller owns its copy
			}
		})
	}
	wg.Wait()
}
