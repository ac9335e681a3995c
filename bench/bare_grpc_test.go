package bench

import (
	"context"
	"testing"
	"time"
)

// TestBareGRPCServesTheLoadGenerator: the bare gRPC service answers the
// load generator as a V2 server does (metadata, then inference), with no
// errors, and stops on Close.
func TestBareGRPCServesTheLoadGenerator(t *testing.T) {
	bare, err := StartBareGRPC("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target, err := NewGRPCTarget(bare.Addr(), 2, 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	rep, err := Run(context.Background(), Options{Target: target, Model: "bare", Concurrency: []int{2},
		Workers: 2, Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if l := rep.Levels[0]; l.Errors != 0 || l.Requests == 0 {
		t.Fatalf("c=2: %d requests, %d errors (first: %v)", l.Requests, l.Errors, l.FirstError)
	}
	bare.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := target.Metadata(ctx, "bare"); err == nil {
		t.Fatal("the bare gRPC service still answers after Close")
	}
}
