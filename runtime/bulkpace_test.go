package runtime

import (
	"context"
	"testing"
	"time"
)

func TestBulkPause(t *testing.T) {
	m := NewManager(ManagerOptions{BulkShare: 0.25})
	if d := m.BulkPause(10 * time.Millisecond); d != 0 {
		t.Fatalf("no interactive request yet: pause %v, want 0", d)
	}
	// An interactive request arrives through Infer (its model is unknown,
	// which does not matter: it arrived).
	if _, err := m.Infer(context.Background(), &InferRequest{Model: "nope"}); err == nil {
		t.Fatal("infer on an unknown model succeeded")
	}
	if d := m.BulkPause(10 * time.Millisecond); d != 30*time.Millisecond {
		t.Fatalf("share 0.25 after 10ms of work: pause %v, want 30ms", d)
	}
	// A bulk request is not interactive traffic.
	m.interactive.last.Store(int64(time.Since(paceEpoch) - 2*bulkIdle))
	if _, err := m.Infer(context.Background(), &InferRequest{Model: "nope", Priority: PriorityBulk}); err == nil {
		t.Fatal("infer on an unknown model succeeded")
	}
	if d := m.BulkPause(10 * time.Millisecond); d != 0 {
		t.Fatalf("interactive traffic quiet for 2×bulkIdle: pause %v, want 0", d)
	}
	for _, share := range []float64{0, 1} {
		m := NewManager(ManagerOptions{BulkShare: share})
		m.interactive.note()
		if d := m.BulkPause(10 * time.Millisecond); d != 0 {
			t.Errorf("share %v (unlimited): pause %v, want 0", share, d)
		}
	}
}

// Room keeps bulk compute clear of interactive work: none while a batch
// runs, just after one ended, or once one is due until it has run; up to
// the next due time otherwise.
func TestInteractiveClockRoom(t *testing.T) {
	if time.Since(paceEpoch) < 10*time.Millisecond {
		time.Sleep(10 * time.Millisecond) // room for due times in the past
	}
	var c interactiveClock
	if room, hold := c.Room(); room >= 0 || hold != 0 {
		t.Fatalf("no interactive work: Room = %v, %v; want no bound", room, hold)
	}
	c.Due(50 * time.Millisecond)
	if room, hold := c.Room(); hold != 0 || room <= 40*time.Millisecond || room > 50*time.Millisecond-trafficMargin {
		t.Fatalf("the next interactive batch due in 50ms: Room = %v, %v; want up to it, less the margin", room, hold)
	}
	c.Due(time.Hour) // a later one does not push the earlier one back
	if room, _ := c.Room(); room > 50*time.Millisecond {
		t.Fatalf("a later Due replaced the earlier one: room %v", room)
	}
	c.due.Store(int64(time.Since(paceEpoch)) - int64(time.Millisecond))
	if _, hold := c.Room(); hold != trafficPoll {
		t.Fatalf("an interactive batch due 1ms ago has not run: hold %v, want %v", hold, trafficPoll)
	}
	c.due.Store(int64(time.Since(paceEpoch)) - int64(trafficLate) - 1)
	if room, hold := c.Room(); room >= 0 || hold != 0 {
		t.Fatalf("an interactive batch due long ago: Room = %v, %v; want no bound", room, hold)
	}
	c.batchStarted()
	if _, hold := c.Room(); hold != trafficPoll {
		t.Fatalf("an interactive batch running: hold %v, want %v", hold, trafficPoll)
	}
	c.batchEnded()
	if _, hold := c.Room(); hold <= 0 || hold > trafficAfter {
		t.Fatalf("an interactive batch just ended: hold %v, want up to %v", hold, trafficAfter)
	}
	c.ended.Store(int64(time.Since(paceEpoch)) - int64(time.Second))
	if room, hold := c.Room(); room >= 0 || hold != 0 {
		t.Fatalf("long after the last interactive batch: Room = %v, %v; want no bound", room, hold)
	}
}
