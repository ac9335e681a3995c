package runtime

import "sync"

// scheduler is the seam between Infer and a model version's workers: the
// batcher sits here. submit never blocks; next blocks a worker until it has
// a batch, and reports false once the scheduler is closed and drained.
type scheduler interface {
	submit(*job) error
	next() ([]*job, bool)
	close()
}

// fifo is the plain scheduler: a bounded FIFO handing each request to the
// next free worker as a batch of one.
type fifo struct {
	mu     sync.RWMutex // protects: closed (and the send on ch against close)
	closed bool
	ch     chan *job
}

func newFIFO(size int) *fifo { return &fifo{ch: make(chan *job, size)} }

func (q *fifo) submit(j *job) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return ErrShuttingDown
	}
	select {
	case q.ch <- j:
		return nil
	default:
		return ErrQueueFull
	}
}

func (q *fifo) next() ([]*job, bool) {
	j, ok := <-q.ch
	if !ok {
		return nil, false
	}
	return []*job{j}, true
}

func (q *fifo) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
}
