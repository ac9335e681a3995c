package grpc_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	grpct "github.com/tiffin-ml/tiffin/transport/grpc"
)

// One connection may hold DefaultMaxStreams calls open at once: the server
// announces the bound, so a client past it waits for a slot instead of
// making the server hold a goroutine for every stream it opens.
func TestOneConnectionHoldsAtMostMaxStreams(t *testing.T) {
	s, _ := startServer(t, map[string]string{"m": ""}, nil)
	c := dial(t, s.Addr())
	if _, err := c.ServerLive(context.Background(), nil); err != nil {
		t.Fatal(err) // the connection is up and has the server's settings
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range grpct.DefaultMaxStreams {
		if _, err := c.ModelStreamInfer(ctx); err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
	}
	short, stop := context.WithTimeout(ctx, 300*time.Millisecond)
	defer stop()
	_, err := c.ModelStreamInfer(short)
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("stream %d past the bound: got %v, want it to wait for a slot (DeadlineExceeded)", grpct.DefaultMaxStreams+1, err)
	}
}
