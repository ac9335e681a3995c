package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

func TestDeadlinesShareOneContextThenRenew(t *testing.T) {
	const timeout = 4 * time.Second // renewed after 200 ms
	d := newDeadlines(context.Background(), timeout)
	before := time.Now()
	a := d.next()
	if b := d.next(); b != a {
		t.Fatal("a request right after the first got another context")
	}
	at, ok := a.Deadline()
	if !ok || at.Before(before.Add(timeout)) || at.After(time.Now().Add(timeout)) {
		t.Fatalf("deadline %v, want the timeout from the first request (%v)", at, before.Add(timeout))
	}
	time.Sleep(timeout/deadlineShare + 10*time.Millisecond)
	c := d.next()
	if c == a {
		t.Fatal("a request after the renewal time got the old context")
	}
	if a.Err() != nil {
		t.Fatalf("renewal cancelled a context still in use: %v", a.Err())
	}
	if n := len(d.live); n != 2 {
		t.Fatalf("%d live contexts, want 2", n)
	}
	d.close()
	if !errors.Is(a.Err(), context.Canceled) || !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("close left contexts open: %v, %v", a.Err(), c.Err())
	}
	if d.next() != d.parent {
		t.Fatal("after close, next made a new context")
	}
}

func TestDeadlinesDropExpired(t *testing.T) {
	const timeout = 40 * time.Millisecond
	d := newDeadlines(context.Background(), timeout)
	a := d.next()
	<-a.Done()
	if !errors.Is(a.Err(), context.DeadlineExceeded) {
		t.Fatalf("first context ended with %v", a.Err())
	}
	b := d.next() // a retry after the timeout gets a fresh deadline
	if b.Err() != nil {
		t.Fatalf("the context after an expired one is done: %v", b.Err())
	}
	if len(d.live) != 1 || d.live[0].ctx != b {
		t.Fatalf("%d live contexts, want only the new one", len(d.live))
	}
	d.close()
}

func TestDeadlinesFollowParent(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	d := newDeadlines(parent, time.Minute)
	a := d.next()
	cancel()
	if !errors.Is(a.Err(), context.Canceled) {
		t.Fatalf("parent cancelled, request context: %v", a.Err())
	}
	if newDeadlines(parent, 0).next() != parent {
		t.Fatal("no timeout: want the parent itself")
	}
	d.close()
}

// timedModels is refModels with a model timeout, recording the deadline of
// every request's context.
type timedModels struct {
	*refModels
	timeout time.Duration
	mu      sync.Mutex
	ctxs    map[context.Context]bool
	bad     []string
}

func (m *timedModels) Version(name string, version int64) (*runtime.ModelVersion, error) {
	v, err := m.refModels.Version(name, version)
	if err == nil {
		v.Config.Batching.Timeout = config.Duration(m.timeout)
	}
	return v, err
}

func (m *timedModels) Infer(ctx context.Context, req *runtime.InferRequest) (*runtime.InferResponse, error) {
	now := time.Now()
	m.mu.Lock()
	m.ctxs[ctx] = true
	if at, ok := ctx.Deadline(); !ok || at.After(now.Add(m.timeout)) || at.Before(now.Add(m.timeout-m.timeout/deadlineShare-time.Second)) {
		m.bad = append(m.bad, fmt.Sprintf("deadline %v (set %v) for a request at %v", at, ok, now))
	}
	m.mu.Unlock()
	return m.refModels.Infer(ctx, req)
}

// A chunk's requests run under the model's timeout, from contexts they
// share, and the chunk's end releases them.
func TestScoreGivesRequestsTheirTimeout(t *testing.T) {
	m := &timedModels{refModels: newRefModels(), timeout: 30 * time.Second, ctxs: map[context.Context]bool{}}
	s := &scorer{models: m, retryFor: time.Second}
	job := &record{Status: Status{Model: "mlp-small", Version: 1}, Format: NDJSON}
	var in strings.Builder
	for i := range 40 { // 5 requests of 8 rows
		fmt.Fprintf(&in, `{"input":[%s]}`+"\n", strings.TrimSuffix(strings.Repeat(fmt.Sprint(i%7, ","), 16), ","))
	}
	res, err := s.score(context.Background(), job, chunkRef{rows: 40}, []byte(in.String()))
	if err != nil || res.failed != 0 {
		t.Fatalf("score: %v, %d failed (%s)", err, res.failed, res.firstErr)
	}
	res.release()
	if len(m.bad) > 0 {
		t.Fatal(strings.Join(m.bad, "\n"))
	}
	if n := m.refModels.calls.Load(); n != 5 || len(m.ctxs) != 1 {
		t.Fatalf("%d requests under %d contexts, want 5 under 1", n, len(m.ctxs))
	}
	for ctx := range m.ctxs {
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Fatalf("after the chunk, its requests' context: %v, want cancelled", ctx.Err())
		}
	}
}
