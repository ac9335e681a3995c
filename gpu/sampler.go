package gpu

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultSampleInterval is the Sampler's interval when none is configured.
const DefaultSampleInterval = 5 * time.Second

// ErrSamplerStarted is returned by a second call to Sampler.Start.
var ErrSamplerStarted = errors.New("gpu: sampler already started")

// SamplerConfig configures a Sampler.
type SamplerConfig struct {
	// Interval between two samples of every device; 0 means
	// DefaultSampleInterval.
	Interval time.Duration
	// Logger receives telemetry errors; nil means slog.Default().
	Logger *slog.Logger
}

// source is where a Sampler reads telemetry from.
type source interface {
	// open prepares the source; it is called once, by Start.
	open() error
	// sample reads every device once; it is only called between a
	// successful open and close, from one goroutine at a time.
	sample() []Sample
	// close releases what open acquired.
	close()
}

// Sampler samples every device at a fixed interval in one goroutine and
// keeps the latest round for any number of concurrent readers. A Sampler
// is started once and stopped once; it cannot be restarted.
type Sampler struct {
	src      source
	interval time.Duration
	logger   *slog.Logger
	latest   atomic.Pointer[[]Sample] // never mutated after Store

	mu      sync.Mutex // protects: started, cancel, done
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
}

func newSampler(src source, cfg SamplerConfig) *Sampler {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultSampleInterval
	}
	return &Sampler{src: src, interval: cfg.Interval, logger: orDefault(cfg.Logger)}
}

// Start opens the telemetry source, takes a first sample before it
// returns, and then samples every interval until ctx is done or Stop is
// called. It fails when the source cannot be opened (no NVML) or when the
// Sampler was already started.
func (s *Sampler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return ErrSamplerStarted
	}
	if err := s.src.open(); err != nil {
		return err
	}
	s.started = true
	s.store(s.src.sample())
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.run(ctx, s.done)
	return nil
}

// Stop ends sampling, waits for the sampling goroutine to finish and
// releases the source. It is safe to call more than once, and before or
// without Start. Latest keeps returning the last round.
func (s *Sampler) Stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// Latest returns the most recent sample of every device, in device order;
// nil before the first sample. The caller owns the returned slice.
func (s *Sampler) Latest() []Sample {
	p := s.latest.Load()
	if p == nil {
		return nil
	}
	return slices.Clone(*p)
}

func (s *Sampler) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	defer s.src.close()
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.store(s.src.sample())
		}
	}
}

func (s *Sampler) store(samples []Sample) {
	s.latest.Store(&samples)
}
