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
