package jobs

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDeadlinesShareOneContextThenRenew(t *testing.T) {
	const timeout = 400 * time.Millisecond // renewed after 20 ms
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
	time.Sleep(timeout/deadlineShare + 5*time.Millisecond)
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
