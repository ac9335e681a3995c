package jobs

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// startCluster runs a JetStream cluster of n servers in this process, on
// loopback, and returns their client URLs, comma-separated, as
// --queue-url takes them.
func startCluster(t *testing.T, n int) string {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	var urls []string
	var servers []*server.Server
	for i := range n {
		ns, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("n%d", i), Host: "127.0.0.1", Port: -1,
			JetStream: true, StoreDir: t.TempDir(), NoSigs: true,
			Cluster: server.ClusterOpts{Name: "test", Host: "127.0.0.1", Port: ports[i]},
			Routes:  routes,
		})
		if err != nil {
			t.Fatal(err)
		}
		go ns.Start()
		t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatalf("server %d did not start", i)
		}
		urls = append(urls, ns.ClientURL())
		servers = append(servers, ns)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, ns := range servers {
		for ns.NumRoutes() < n-1 || !ns.JetStreamIsCurrent() {
			if time.Now().After(deadline) {
				t.Fatalf("the cluster did not form: %s has %d routes, JetStream current %v", ns.Name(), ns.NumRoutes(), ns.JetStreamIsCurrent())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return strings.Join(urls, ",")
}

// TestStreamReplicasOnACluster: on a three-server cluster the job store's
// streams and buckets are kept on all three, so that one server lost
// stalls no job and loses none. JetStream's default kept each on one,
// and killing that server stopped every job (an upload under way failed
// with "no response from stream").
func TestStreamReplicasOnACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-server NATS cluster")
	}
	queue := startCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := New(newRefModels(), Options{URL: queue, Workers: 1, SpoolDir: t.TempDir()})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	st, err := s.started()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"KV_" + jobsBucket, "KV_" + doneBucket, "OBJ_" + resultsBucket, chunkStream} {
		str, err := st.js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if r := str.CachedInfo().Config.Replicas; r != 3 {
			t.Errorf("stream %s: %d replicas, want 3", name, r)
		}
	}

	// An explicit count wins, and scales the existing streams.
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	s = New(newRefModels(), Options{URL: queue, Workers: 1, SpoolDir: t.TempDir(), StreamReplicas: 2})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	st, _ = s.started()
	str, err := st.js.Stream(ctx, chunkStream)
	if err != nil {
		t.Fatal(err)
	}
	if r := str.CachedInfo().Config.Replicas; r != 2 {
		t.Errorf("--jobs-stream-replicas 2: stream %s has %d replicas", chunkStream, r)
	}
}
