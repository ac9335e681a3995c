package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/tiffin-ml/tiffin/runtime"
)

// TestConnectErrorRedacted: a job queue that cannot be reached is named in
// the error without the credentials in its URL.
func TestConnectErrorRedacted(t *testing.T) {
	for _, queue := range []string{"nats://alice:s3cret@127.0.0.1:1", "nats://s3cret@127.0.0.1:1"} {
		s := New(newRefModels(), Options{URL: queue, Workers: 1})
		err := s.Start(context.Background())
		if err == nil {
			_ = s.Stop(context.Background())
			t.Fatalf("%s: started", queue)
		}
		if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("%s: want the server named without the secret, got %v", queue, err)
		}
	}
}

// TestDisconnectedAnswersAtOnce: while the external job queue is down, the
// job routes answer unavailable at once, saying so, rather than after
// JetStream's 5s timeout with "context deadline exceeded" (a 504).
func TestDisconnectedAnswersAtOnce(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	s := New(newRefModels(), Options{URL: ns.ClientURL(), Workers: 1, SpoolDir: t.TempDir()})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	if _, err := s.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	ns.Shutdown()
	st, _ := s.started()
	for deadline := time.Now().Add(10 * time.Second); st != nil && st.js.Conn().IsConnected(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("still connected 10s after the server stopped")
		}
	}
	start := time.Now()
	_, err = s.Get(context.Background(), "0123456789abcdefghijkl")
	if took := time.Since(start); runtime.KindOf(err) != runtime.KindUnavailable || took > time.Second ||
		!strings.Contains(err.Error(), "job queue is unreachable") {
		t.Errorf("Get with the queue down: %v after %s, want unavailable at once, naming the job queue", err, took)
	}
	start = time.Now()
	if _, err := s.List(context.Background()); runtime.KindOf(err) != runtime.KindUnavailable || time.Since(start) > time.Second {
		t.Errorf("List with the queue down: %v after %s, want unavailable at once", err, time.Since(start))
	}
}
