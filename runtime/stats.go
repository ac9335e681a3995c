package runtime

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Counter is a count of events and the time they took, as Triton's
// statistics extension reports them.
type Counter struct {
	Count uint64
	Ns    uint64
}

type counter struct{ count, ns atomic.Uint64 }

func (c *counter) add(d time.Duration) {
	c.count.Add(1)
	c.ns.Add(uint64(max(d, 0)))
}

func (c *counter) load() Counter { return Counter{Count: c.count.Load(), Ns: c.ns.Load()} }

// BatchCounter is the compute time of the batches of one size.
type BatchCounter struct {
	Size    int
	Compute Counter
}

// Stats is a snapshot of one model version's statistics.
type Stats struct {
	Model          string
	Version        int64
	LastInference  time.Time
	InferenceCount uint64 // items inferred (a request of batch k counts k)
	ExecutionCount uint64 // batches run
	Success        Counter
	Fail           Counter
	Queue          Counter // time from submit to the start of compute
	Compute        Counter // time in the backend, per request
	Batches        []BatchCounter
}

// stats collects a version's statistics. Request counters are atomics
// updated by request goroutines; batch counters are updated by workers.
type stats struct {
	lastInference  atomic.Int64 // unix nanoseconds
	inferenceCount atomic.Uint64
	executionCount atomic.Uint64
	success, fail  counter
	queue, compute counter

	mu      sync.Mutex       // protects: batches
	batches map[int]*counter // by batch size in items
}

func (s *stats) request(start time.Time, rows int64, err error) {
	d := time.Since(start)
	if err != nil {
		s.fail.add(d)
		return
	}
	s.success.add(d)
	s.inferenceCount.Add(uint64(rows))
	s.lastInference.Store(start.Add(d).UnixNano()) // the end, without a second clock read
}

// batch records one run of a batch of rows items holding the given parts.
func (s *stats) batch(parts []part, rows int64, began time.Time, compute time.Duration) {
	s.executionCount.Add(1)
	for _, p := range parts {
		s.queue.add(began.Sub(p.Req.enqueued))
		s.compute.add(compute)
	}
	s.mu.Lock()
	if s.batches == nil {
		s.batches = map[int]*counter{}
	}
	c := s.batches[int(rows)]
	if c == nil {
		c = &counter{}
		s.batches[int(rows)] = c
	}
	s.mu.Unlock()
	c.add(compute)
}

func (s *stats) snapshot(model string, version int64) Stats {
	st := Stats{Model: model, Version: version,
		InferenceCount: s.inferenceCount.Load(), ExecutionCount: s.executionCount.Load(),
		Success: s.success.load(), Fail: s.fail.load(), Queue: s.queue.load(), Compute: s.compute.load()}
	if ns := s.lastInference.Load(); ns > 0 {
		st.LastInference = time.Unix(0, ns)
	}
	s.mu.Lock()
	for size, c := range s.batches {
		st.Batches = append(st.Batches, BatchCounter{Size: size, Compute: c.load()})
	}
	s.mu.Unlock()
	sort.Slice(st.Batches, func(i, j int) bool { return st.Batches[i].Size < st.Batches[j].Size })
	return st
}
